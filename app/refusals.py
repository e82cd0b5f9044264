"""The base of errors that refuse a whole input (an upload, a bulk file) for a reason the
user can act on; views show `user_message`, logs and tests read `code`."""


class Refusal(ValueError):
    """`code`: a short stable name of the reason ("too_large"); `user_message`: a lazy
    translation shown in the user's language."""

    def __init__(self, code: str, user_message) -> None:
        super().__init__(code)
        self.code = code
        self.user_message = user_message

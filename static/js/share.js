// Saved expo list: the phone's share sheet where the browser has the Web Share API, and a
// copy-link button where it has the clipboard. Without JavaScript the address and its QR
// code are already on the page (templates/qr/list.html); these buttons stay hidden.
(function () {
  "use strict";
  var box = document.querySelector("[data-share-url]");
  if (!box) return;
  var url = box.getAttribute("data-share-url");
  var title = box.getAttribute("data-share-title");
  var status = box.querySelector(".share-status");
  var shareButton = box.querySelector("[data-share]");
  var copyButton = box.querySelector("[data-copy]");

  if (navigator.share) {
    shareButton.hidden = false;
    shareButton.addEventListener("click", function () {
      navigator.share({ title: title, url: url }).catch(function () {}); // dismissed: nothing to do
    });
  }
  if (navigator.clipboard && window.isSecureContext) {
    copyButton.hidden = false;
    copyButton.addEventListener("click", function () {
      navigator.clipboard.writeText(url).then(
        function () { status.textContent = status.getAttribute("data-copied"); },
        function () { status.textContent = status.getAttribute("data-copy-failed"); }
      );
    });
  }
})();

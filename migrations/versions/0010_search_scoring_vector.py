"""search_documents learns and scores faster at 100,000 documents (issue 10):

- `scoring`, the lexemes a ranking reads (every field but the body and the suggestion
  prefixes, app/search/postgresql.SCORED_FIELDS) kept in the row (STORAGE MAIN), and
  `length`, the whole vector's positions (ts_rank's length): a search reads them instead
  of each match's whole vector out of line; `vector` (the GIN index's) and `body` are
  stored out of line uncompressed, read for one page of hits at most; filled here from
  `vector`;

- `words` (the document's catalogue words, documents.document_words) and `written_by`
  (the writing transaction's id, indexed): another process learns an edit's new words
  from the rows written since it last looked, not from the whole catalogue again;
- search_terms counts each product's head character ("head:鸡", words.product_heads),
  found through a small partial index instead of a read of every product document.

PostgreSQL only. Existing rows are marked stale (an empty digest): `flask search check`
reports them and `flask search reindex` (or `flask seed`) writes them afresh; meanwhile
they are still searched.

Revision ID: 0010_search_scoring_vector
Revises: 0009_illustrations
Create Date: 2026-12-07 04:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0010_search_scoring_vector'
down_revision = '0009_illustrations'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.add_column('search_documents', sa.Column(
        'scoring', postgresql.TSVECTOR(), server_default='', nullable=False))
    op.add_column('search_documents', sa.Column(
        'length', sa.Integer(), server_default='0', nullable=False))
    op.execute('ALTER TABLE search_documents ALTER COLUMN scoring SET STORAGE MAIN')
    op.execute('ALTER TABLE search_documents ALTER COLUMN vector SET STORAGE EXTERNAL')
    op.execute('ALTER TABLE search_documents ALTER COLUMN body SET STORAGE EXTERNAL')
    op.execute(
        "UPDATE search_documents SET "
        "scoring = ts_delete(vector, ARRAY(SELECT l FROM unnest(tsvector_to_array(vector)) AS l "
        "WHERE l LIKE 'body:%' OR l LIKE 'suggest:%')), "
        "length = (SELECT count(*) FROM unnest(vector) AS u, unnest(u.positions))"
    )
    op.add_column('search_documents', sa.Column(
        'words', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False))
    op.add_column('search_documents', sa.Column(
        'written_by', sa.BigInteger(), server_default='0', nullable=False))
    op.create_index('ix_search_documents_written_by', 'search_documents', ['written_by'])
    op.execute(
        "CREATE INDEX ix_search_terms_head ON search_terms (lexeme) WHERE lexeme LIKE 'head:%'"
    )
    op.execute("UPDATE search_documents SET digest = ''")


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_search_terms_head', table_name='search_terms')
    op.execute("DELETE FROM search_terms WHERE lexeme LIKE 'head:%'")
    op.drop_index('ix_search_documents_written_by', table_name='search_documents')
    op.drop_column('search_documents', 'written_by')
    op.drop_column('search_documents', 'words')
    op.drop_column('search_documents', 'length')
    op.drop_column('search_documents', 'scoring')
    op.execute('ALTER TABLE search_documents ALTER COLUMN vector SET STORAGE EXTENDED')
    op.execute('ALTER TABLE search_documents ALTER COLUMN body SET STORAGE EXTENDED')

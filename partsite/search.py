"""Substring search through a stored, trigram-indexed text column on PostgreSQL (files migration 0005).

Django's `icontains` compares UPPER(column) on PostgreSQL, which a trigram index on the column
cannot serve; ILIKE can."""

from django.db.models import Expression, Lookup, TextField, Value


class StoredText(Expression):
    """A generated text column the models do not know, read by name from the query's main table."""

    output_field = TextField()

    def __init__(self, column):
        super().__init__()
        self.column = column

    def as_sql(self, compiler, connection):
        table = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f"{table}.{connection.ops.quote_name(self.column)}", []


class ContainsIgnoringCase(Lookup):
    """`lhs ILIKE '%word%'` with the word taken literally."""

    lookup_name = "ilike_contains"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]


def literally_within(word):
    """The ILIKE pattern of text containing `word`, its wildcards taken literally."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Value(f"%{escaped}%")


def stored_text_contains(column, word):
    """The condition: the stored column `column` contains `word`, ignoring case (PostgreSQL only)."""
    return ContainsIgnoringCase(StoredText(column), literally_within(word))

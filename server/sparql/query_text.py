"""What we need to know about a query before any engine sees it.

A small SPARQL tokenizer (comments, strings, IRIs, prefixed names and variables are single
tokens) is enough to find the query form, to refuse SERVICE (the engine would otherwise make
the HTTP call itself) and updates, and to bound nesting, which could exhaust a recursive
parser. Full parsing stays the engine's job: its error messages carry line and column.
"""

import re
from dataclasses import dataclass

# Tokens end where the engine's do: a token that ran on past the engine's would hide what
# follows. Comments and short strings end at a carriage return as well as at a line feed
# (`#x\rSERVICE …`), and a number is a token of its own (`1e5SERVICE<…>`).
TOKEN = re.compile(
    r"""
      (?P<comment>\#[^\r\n]*)
    | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!\"\"))*\"\"\"
                 |'(?:[^'\\\r\n]|\\.)*'|"(?:[^"\\\r\n]|\\.)*")
    | (?P<iri><[^<>"{}|^`\\\s]*>)
    | (?P<variable>[?$][\w]+)
    | (?P<number>[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)
    | (?P<name>(?:[A-Za-z_][\w.-]*)?:[\w.\-%:]*|[A-Za-z_]\w*)
    | (?P<open>[({\[])
    | (?P<close>[)}\]])
    | (?P<space>\s+)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

QUERY_FORMS = {"SELECT", "CONSTRUCT", "DESCRIBE", "ASK"}
UPDATE_KEYWORDS = {
    "INSERT",
    "DELETE",
    "LOAD",
    "CLEAR",
    "DROP",
    "CREATE",
    "ADD",
    "MOVE",
    "COPY",
    "WITH",
}


# `<` is also the less-than operator, which only occurs inside an expression's parentheses:
# `FILTER(1<1)SERVICE#>` reads to the tokenizer as one IRI, `<1)SERVICE#>`, while the engine
# reads a closed FILTER and a SERVICE. A `)` and then SERVICE inside an "IRI" is refused.
SERVICE_AFTER_PARENTHESIS = re.compile(r"\).*\bSERVICE\b", re.IGNORECASE | re.DOTALL)
SERVICE_REFUSAL = (
    "SERVICE (federated query) is not allowed: this endpoint never makes outbound requests."
)


class QueryRefused(ValueError):
    """A query we will not run, with a message that says why."""


@dataclass(frozen=True)
class QueryText:
    text: str
    form: str  # SELECT, CONSTRUCT, DESCRIBE or ASK


def inspect(text: str, max_depth: int) -> QueryText:
    """The query's form, or QueryRefused for SERVICE, an update or too deep nesting.
    A query whose form cannot be found is passed on: the engine's parser explains best."""
    form, depth, deepest = None, 0, 0
    for match in TOKEN.finditer(text):
        kind, value = match.lastgroup, match.group()
        if kind == "open":
            depth += 1
            deepest = max(deepest, depth)
        elif kind == "close":
            depth -= 1
        elif kind == "iri" and SERVICE_AFTER_PARENTHESIS.search(value):
            raise QueryRefused(SERVICE_REFUSAL)
        elif kind == "name":
            word = value.upper()
            # The engine reads `SERVICEx:s {…}` and `SERVICE:s {…}` as SERVICE and a prefixed
            # name: a name that merely starts with SERVICE is refused too.
            if word.startswith("SERVICE"):
                raise QueryRefused(SERVICE_REFUSAL)
            if form is None and word in UPDATE_KEYWORDS:
                raise QueryRefused("SPARQL Update is not accepted: this endpoint is read-only.")
            if form is None and word in QUERY_FORMS:
                form = word
    if deepest > max_depth:
        raise QueryRefused(f"The query nests brackets {deepest} deep; the limit is {max_depth}.")
    return QueryText(text=text, form=form or "SELECT")


def declares_dataset(text: str) -> bool:
    """Whether the query names its own dataset (FROM or FROM NAMED), outside strings,
    IRIs and comments."""
    return any(
        match.lastgroup == "name" and match.group().upper() == "FROM"
        for match in TOKEN.finditer(text)
    )

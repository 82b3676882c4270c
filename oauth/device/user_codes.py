"""User codes a person types on a second device (RFC 8628 §6.1).

Eight characters from the 20 consonants RFC 8628 §6.1 suggests: no vowels (no words spelled by
accident) and no digits (no 0/O or 1/I confusion), case-insensitive, shown as BDWP-HQPK. That is
20^8 ≈ 2^34.5 codes, far beyond what the guessing throttle lets anyone try while codes live.
"""

import secrets

ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
LENGTH = 8
MAX_TYPED_LENGTH = 32


def generate() -> str:
    """A new code, normalised (no dash)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display(code: str) -> str:
    half = LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def normalise(typed: str | None) -> str | None:
    """What a person typed, as stored (upper case, without dashes or spaces), or None if it
    cannot be a code (RFC 8628 §6.1: be lenient with case and punctuation)."""
    if not typed or len(typed) > MAX_TYPED_LENGTH:
        return None
    code = "".join(c for c in typed.upper() if c not in "- \t")
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code

"""Password hashing with argon2id; a dummy verification keeps unknown e-mails as slow as known ones."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        # Verified against when the e-mail is unknown, so that the answer's timing does not tell.
        self._dummy = self.hasher.hash("not a password anyone has")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False


def fast_passwords() -> Passwords:
    """Cheap argon2 parameters for tests and the load benchmark only, never for the service."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

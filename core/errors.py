"""Domain errors: each carries a message meant for a person, shown as-is by pages, CLI and scheduler."""


class DomainError(Exception):
    """Base of every error a user may see."""


class AccessDenied(DomainError):
    """The actor's role or site access does not allow this."""


class NotFound(DomainError):
    """The object does not exist or is outside the actor's scope (indistinguishable on purpose)."""


class ValidationFailed(DomainError):
    """The input is wrong; the message says what to fix."""


class Conflict(DomainError):
    """The change collides with existing data (a duplicate name, slug or email)."""


class LimitExceeded(DomainError):
    """A plan or product limit would be passed."""


class AuthenticationFailed(DomainError):
    """Wrong email or password, a locked or inactive user, or an expired session."""


class InsufficientCredits(DomainError):
    """The account's balance is too low for the operation."""

    def __init__(self, needed: int, balance: int):
        super().__init__(f"This needs {needed} credits but the account has {balance}. Ask the platform team (the "
                         "team running this dashboard) to top up the account.")
        self.needed = needed
        self.balance = balance

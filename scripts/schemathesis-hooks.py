"""Schemathesis hooks for scripts/schemathesis: each operation gets the bearer
of the role that may call it, minted by the script (`devhost token`) and passed
in the environment. As an auth provider, and not a configured header, so that
the tests that leave the bearer out really leave it out."""

import os

import schemathesis

PUBLIC = ("/api/capabilities", "/api/openapi.json", "/invite/{token}", "/connect/{token}")
# A customer admin's operations; redemption takes one to link its organization.
CUSTOMER_ADMIN = ("/api/partners", "/api/organization/requests", "/api/connections/{id}/approve",
                  "/api/connections/{id}/decline", "/api/invites/redeem")
OPERATOR = ("/api/organizations/", "/api/outbox", "/api/platform/")


def role(path):
    if path in PUBLIC:
        return None
    if path in CUSTOMER_ADMIN:
        return "CUSTOMER_ADMIN"
    if path.startswith(OPERATOR):
        return "OPERATOR"
    return "PARTNER"


# Not cached: the token depends on the operation.
@schemathesis.auth(refresh_interval=None)
class Bearer:
    def get(self, case, ctx):
        name = role(case.operation.path)
        return name and os.environ[f"ST_{name}_TOKEN"]

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"

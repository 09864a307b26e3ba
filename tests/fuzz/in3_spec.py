"""IN-3: which gateway operations need a signed-in caller, laid over the served OpenAPI document.

The gateway builds its document from the proto descriptors, which say nothing about
authentication: every service accepts anonymous calls and leaves the decision to its domain
(`symphony_common.tokens.Authenticator`). So the document declares the bearer scheme and makes
it optional everywhere; what each RPC requires is written in the proto comments ("Signed in",
"Not signed in", "Public", "Reads are anonymous unless said otherwise", "Every RPC acts on the
calling user's own data"). This module is that list, so Schemathesis' `ignored_auth` has
something to check: an operation listed in `SIGNED_IN` that answers 2xx without credentials (or
with made-up ones) is a failure. Every public operation of the document must be in exactly one
of the two sets (`classify` fails on a new route), so the list cannot silently go stale.
"""

from __future__ import annotations

import copy
from typing import Any

BEARER = "bearerAuth"

# Operations the contract says need a caller (access token or, where allowed, a PAT).
SIGNED_IN: frozenset[str] = frozenset(
    {
        # auth: "Signed in" in the proto comment, or owners/admins/members only
        "AuthService_SendVerificationEmail",
        "AuthService_GetCurrentUser",
        "AuthService_UpdateCurrentUser",
        "AuthService_DeleteCurrentUser",
        "AuthService_ChangePassword",
        "AuthService_DisableUser",
        "AuthService_EnableUser",
        "AuthService_ListSessions",
        "AuthService_DeleteSession",
        "AuthService_LookupDeviceAuthorization",
        "AuthService_ApproveDeviceAuthorization",
        "AuthService_DenyDeviceAuthorization",
        "AuthService_CreatePersonalAccessToken",
        "AuthService_ListPersonalAccessTokens",
        "AuthService_DeletePersonalAccessToken",
        "AuthService_CreateOrganization",
        "AuthService_ListOrganizations",
        "AuthService_GetOrganization",
        "AuthService_UpdateOrganization",
        "AuthService_ListOrganizationMembers",
        "AuthService_AddOrganizationMember",
        "AuthService_UpdateOrganizationMember",
        "AuthService_RemoveOrganizationMember",
        "AuthService_ListAuditEvents",
        # registry: every write, and the reads limited to members or administrators
        "RegistryService_CreateNamespace",
        "RegistryService_UpdateNamespace",
        "RegistryService_SetNamespaceVerified",
        "RegistryService_AddNamespaceMember",
        "RegistryService_ListNamespaceMembers",
        "RegistryService_UpdateNamespaceMember",
        "RegistryService_RemoveNamespaceMember",
        "RegistryService_GetScan",
        "RegistryService_ListScans",
        "RegistryService_AllowQuarantinedVersion",
        "RegistryService_BlockQuarantinedVersion",
        "RegistryService_ListBlocklistEntries",
        "RegistryService_CreateBlocklistEntry",
        "RegistryService_DeleteBlocklistEntry",
        "RegistryService_CreateReview",
        "RegistryService_UpdateReview",
        "RegistryService_DeleteReview",
        "RegistryService_YankVersion",
        "RegistryService_UnyankVersion",
        "RegistryService_UnpublishVersion",
        "RegistryService_DeprecateExtension",
        "RegistryService_UndeprecateExtension",
        # sync: every RPC acts on the caller's own data
        "SyncService_GetSyncConfig",
        "SyncService_Push",
        "SyncService_PullChanges",
        "SyncService_Watch",
        "SyncService_GetItem",
        "SyncService_ListItemRevisions",
        "SyncService_RestoreItemRevision",
        "SyncService_ListDevices",
        "SyncService_RegisterDevice",
        "SyncService_UpdateDevice",
        "SyncService_DeleteDevice",
        "SyncService_CreateSnapshot",
        "SyncService_ListSnapshots",
        "SyncService_RestoreSnapshot",
        "SyncService_Reset",
    }
)

# Operations anyone may call (a token, when sent, must still be valid).
ANONYMOUS: frozenset[str] = frozenset(
    {
        "AuthService_CreateUser",
        "AuthService_VerifyEmail",
        "AuthService_RequestPasswordReset",
        "AuthService_ResetPassword",
        "AuthService_Login",
        "AuthService_Refresh",
        # Logout takes the bearer token's session or a refresh token from the body.
        "AuthService_Logout",
        "AuthService_StartDeviceAuthorization",
        "AuthService_ExchangeDeviceCode",
        "AuthService_ListIdentityProviders",
        "AuthService_StartExternalLogin",
        "AuthService_CompleteExternalLogin",
        "AuthService_GetJwks",
        "RegistryService_GetNamespace",
        "RegistryService_ListNamespaces",
        "RegistryService_GetExtension",
        "RegistryService_ListExtensions",
        "RegistryService_ListVersions",
        "RegistryService_GetVersion",
        "RegistryService_GetVersionFile",
        "RegistryService_ListSigningKeys",
        "RegistryService_GetSigningKey",
        "RegistryService_SearchExtensions",
        "RegistryService_CheckUpdates",
        "RegistryService_ListReviews",
        "AnalyticsService_GetEventSchema",
        "AnalyticsService_BatchIngestEvents",
        "AnalyticsService_QueryTimeSeries",
        "AnalyticsService_QueryActiveInstalls",
        "AnalyticsService_QueryTopEvents",
        "AnalyticsService_QueryDroppedEvents",
        # Members see more figures; anyone may call.
        "AnalyticsService_GetExtensionStats",
    }
)


def operations(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """operationId → (METHOD, path) of every operation in the document."""
    found: dict[str, tuple[str, str]] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = (method.upper(), path)
    return found


def classify(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of the document whose signed-in operations require the bearer scheme.

    Raises if an operation is in neither set (a new route: decide and add it) or in both, or if
    a listed operation is gone (a renamed route)."""
    ids = set(operations(document))
    unknown = ids - SIGNED_IN - ANONYMOUS
    both = SIGNED_IN & ANONYMOUS
    gone = (SIGNED_IN | ANONYMOUS) - ids
    if unknown or both or gone:
        raise AssertionError(
            "tests/fuzz/in3_spec.py is out of date with the gateway's routes: "
            f"unclassified {sorted(unknown)}, in both sets {sorted(both)}, gone {sorted(gone)}"
        )
    document = copy.deepcopy(document)
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes.setdefault(BEARER, {"type": "http", "scheme": "bearer"})
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") in SIGNED_IN:
                operation["security"] = [{BEARER: []}]
    return document


def only(document: dict[str, Any], keep: frozenset[str] | set[str]) -> dict[str, Any]:
    """A copy of the document with the operations whose id is in `keep` (and no empty paths)."""
    document = copy.deepcopy(document)
    paths: dict[str, Any] = {}
    for path, item in document["paths"].items():
        kept = {
            method: op
            for method, op in item.items()
            if not isinstance(op, dict) or "operationId" not in op or op["operationId"] in keep
        }
        if any(isinstance(op, dict) and "operationId" in op for op in kept.values()):
            paths[path] = kept
    document["paths"] = paths
    return document

"""The permission list, the built-in roles of a district and what platform roles may do.

Every API operation declares one permission with `slrt.auth.policy.require`. District admins may
define further roles from this list; the built-in roles below (district admin, SLRT manager,
supervisor, front and back office, Puskesos coordinator, facilitator, agency officer, viewer) are
created in every district. Platform roles (Kemensos admin and viewer, provincial viewer) never
reach personal data.
"""

from __future__ import annotations

import enum

from slrt.platform.errors import Msg


class P(enum.StrEnum):
    # District configuration
    TENANT_READ = "tenant.read"
    TENANT_CONFIGURE = "tenant.configure"
    PROGRAMS_READ = "programs.read"
    PROGRAMS_MANAGE = "programs.manage"
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    ROLES_MANAGE = "roles.manage"
    AUDIT_READ = "audit.read"
    # Personal data (UU 27/2022): need to know, every read logged
    REGISTRY_READ = "registry.read"
    REGISTRY_WRITE = "registry.write"
    PERSONAL_DATA_AUDIT = "personal_data.audit"
    PERSONAL_DATA_ERASE = "personal_data.erase"
    # The service flow
    CASES_READ = "cases.read"
    CASES_REGISTER = "cases.register"
    CASES_ASSESS = "cases.assess"
    CASES_DECIDE = "cases.decide"
    CASES_FOLLOW_UP = "cases.follow_up"
    CASES_CLOSE = "cases.close"
    REFERRALS_READ = "referrals.read"
    REFERRALS_RESPOND = "referrals.respond"
    LETTERS_ISSUE = "letters.issue"
    PROPOSALS_MANAGE = "proposals.manage"
    PROPOSALS_VERIFY = "proposals.verify"
    # Bulk work and reporting
    IMPORTS_RUN = "imports.run"
    EXPORTS_RUN = "exports.run"
    JOBS_READ = "jobs.read"
    JOBS_MANAGE = "jobs.manage"
    REPORTS_READ = "reports.read"
    USAGE_READ = "usage.read"


class PP(enum.StrEnum):
    """Platform-level permissions (routes outside /t/<tenant>)."""

    TENANTS_MANAGE = "platform.tenants.manage"
    CATALOG_MANAGE = "platform.catalog.manage"
    CLIENTS_MANAGE = "platform.clients.manage"
    PLANS_MANAGE = "platform.plans.manage"
    REPORTS_READ = "platform.reports.read"
    ACCOUNTS_MANAGE = "platform.accounts.manage"


# Each permission in words, as pages show it (a key such as "cases.assess" is never shown).
PERMISSION_LABELS: dict[str, Msg] = {
    P.TENANT_READ: Msg("Melihat data kabupaten/kota", "View the district"),
    P.TENANT_CONFIGURE: Msg("Mengatur kabupaten/kota", "Configure the district"),
    P.PROGRAMS_READ: Msg("Melihat program", "View programs"),
    P.PROGRAMS_MANAGE: Msg("Mengelola program", "Manage programs"),
    P.MEMBERS_READ: Msg("Melihat daftar pengguna", "View members"),
    P.MEMBERS_MANAGE: Msg("Mengelola pengguna", "Manage members"),
    P.ROLES_MANAGE: Msg("Mengelola peran", "Manage roles"),
    P.AUDIT_READ: Msg("Melihat jejak audit", "View the audit trail"),
    P.REGISTRY_READ: Msg("Melihat data keluarga dan penduduk", "View households and persons"),
    P.REGISTRY_WRITE: Msg("Mencatat data keluarga dan penduduk", "Record households and persons"),
    P.PERSONAL_DATA_AUDIT: Msg(
        "Memeriksa siapa membaca data pribadi", "Audit who read personal data"
    ),
    P.PERSONAL_DATA_ERASE: Msg("Menghapus data pribadi", "Erase personal data"),
    P.CASES_READ: Msg("Melihat kasus", "View cases"),
    P.CASES_REGISTER: Msg("Mendaftarkan kunjungan dan pengaduan", "Register visits and complaints"),
    P.CASES_ASSESS: Msg("Menilai kasus (asesmen)", "Assess cases"),
    P.CASES_DECIDE: Msg("Memutuskan layanan", "Decide on services"),
    P.CASES_FOLLOW_UP: Msg("Menindaklanjuti kasus", "Follow up cases"),
    P.CASES_CLOSE: Msg("Menutup kasus", "Close cases"),
    P.REFERRALS_READ: Msg("Melihat rujukan", "View referrals"),
    P.REFERRALS_RESPOND: Msg("Menjawab rujukan (OPD)", "Answer referrals (agency)"),
    P.LETTERS_ISSUE: Msg("Menerbitkan surat rujukan", "Issue referral letters"),
    P.PROPOSALS_MANAGE: Msg("Mengelola usulan DTKS", "Manage DTSEN proposals"),
    P.PROPOSALS_VERIFY: Msg("Memverifikasi usulan DTKS", "Verify DTSEN proposals"),
    P.IMPORTS_RUN: Msg("Mengimpor data", "Import data"),
    P.EXPORTS_RUN: Msg("Mengekspor data", "Export data"),
    P.JOBS_READ: Msg("Melihat pekerjaan latar belakang", "View background jobs"),
    P.JOBS_MANAGE: Msg("Mengelola pekerjaan latar belakang", "Manage background jobs"),
    P.REPORTS_READ: Msg("Melihat laporan", "View reports"),
    P.USAGE_READ: Msg("Melihat pemakaian dan kuota", "View usage and quotas"),
    PP.TENANTS_MANAGE: Msg("Mengelola kabupaten/kota (Kemensos)", "Manage districts (Kemensos)"),
    PP.CATALOG_MANAGE: Msg("Mengelola katalog program nasional", "Manage the national catalog"),
    PP.CLIENTS_MANAGE: Msg("Mengelola aplikasi klien", "Manage client applications"),
    PP.PLANS_MANAGE: Msg("Mengelola paket layanan", "Manage plans"),
    PP.REPORTS_READ: Msg("Melihat laporan nasional", "View national reports"),
    PP.ACCOUNTS_MANAGE: Msg("Mengelola akun", "Manage accounts"),
}


READ_CONFIG = {P.TENANT_READ, P.PROGRAMS_READ}

DEFAULT_ROLES: dict[str, dict] = {
    "district_admin": {
        "name": "Admin Kabupaten/Kota (Dinas Sosial)",
        "name_en": "District admin",
        "permissions": set(P),
    },
    "manager": {
        "name": "Manajer SLRT",
        "name_en": "SLRT manager",
        "permissions": READ_CONFIG
        | {
            P.REGISTRY_READ,
            P.CASES_READ,
            P.CASES_DECIDE,
            P.CASES_CLOSE,
            P.REFERRALS_READ,
            P.LETTERS_ISSUE,
            P.PROPOSALS_VERIFY,
            P.REPORTS_READ,
            P.EXPORTS_RUN,
            P.MEMBERS_READ,
            P.JOBS_READ,
        },
    },
    "supervisor": {
        "name": "Supervisor",
        "name_en": "Supervisor",
        "permissions": READ_CONFIG
        | {
            P.REGISTRY_READ,
            P.CASES_READ,
            P.CASES_FOLLOW_UP,
            P.REFERRALS_READ,
            P.REPORTS_READ,
            P.MEMBERS_READ,
        },
    },
    "front_office": {
        "name": "Front Office",
        "name_en": "Front office",
        "permissions": READ_CONFIG
        | {P.REGISTRY_READ, P.REGISTRY_WRITE, P.CASES_READ, P.CASES_REGISTER},
    },
    "back_office": {
        "name": "Back Office",
        "name_en": "Back office",
        "permissions": READ_CONFIG
        | {
            P.REGISTRY_READ,
            P.REGISTRY_WRITE,
            P.CASES_READ,
            P.CASES_REGISTER,
            P.CASES_ASSESS,
            P.REFERRALS_READ,
            P.PROPOSALS_MANAGE,
            P.IMPORTS_RUN,
            P.JOBS_READ,
        },
    },
    "puskesos_coordinator": {
        "name": "Koordinator Puskesos",
        "name_en": "Puskesos coordinator",
        "permissions": READ_CONFIG
        | {
            P.REGISTRY_READ,
            P.CASES_READ,
            P.CASES_DECIDE,
            P.REFERRALS_READ,
            P.LETTERS_ISSUE,
            P.PROPOSALS_MANAGE,
            P.REPORTS_READ,
        },
    },
    "facilitator": {
        "name": "Fasilitator SLRT / TKSK / Pekerja Sosial",
        "name_en": "Facilitator",
        "permissions": READ_CONFIG
        | {
            P.REGISTRY_READ,
            P.REGISTRY_WRITE,
            P.CASES_READ,
            P.CASES_REGISTER,
            P.CASES_FOLLOW_UP,
            P.CASES_CLOSE,
            P.REFERRALS_READ,
            P.PROPOSALS_MANAGE,
        },
    },
    "agency_officer": {
        "name": "Petugas OPD",
        "name_en": "Agency officer",
        "permissions": READ_CONFIG | {P.REFERRALS_READ, P.REFERRALS_RESPOND},
    },
    "viewer": {
        "name": "Pemantau (Bappeda, Camat, Kepala Desa/Lurah)",
        "name_en": "Viewer",
        "permissions": READ_CONFIG | {P.REPORTS_READ},
    },
}

# What platform roles may do inside a district: configuration and aggregates, never personal data.
PLATFORM_ROLES: dict[str, dict] = {
    "kemensos_admin": {
        "name": "Admin Kemensos",
        "platform": set(PP),
        "tenant": READ_CONFIG
        | {
            P.TENANT_CONFIGURE,
            P.PROGRAMS_MANAGE,
            P.MEMBERS_READ,
            P.MEMBERS_MANAGE,
            P.AUDIT_READ,
            P.REPORTS_READ,
            P.USAGE_READ,
            P.JOBS_READ,
        },
    },
    "kemensos_viewer": {
        "name": "Pemantau Kemensos",
        "platform": {PP.REPORTS_READ},
        "tenant": READ_CONFIG | {P.REPORTS_READ, P.USAGE_READ},
    },
    "provincial_viewer": {
        "name": "Pemantau Provinsi",
        "platform": {PP.REPORTS_READ},
        "tenant": READ_CONFIG | {P.REPORTS_READ},
    },
}

# Permissions whose data is personal: never granted through a platform role.
PERSONAL_DATA = {
    P.REGISTRY_READ,
    P.REGISTRY_WRITE,
    P.CASES_READ,
    P.CASES_REGISTER,
    P.CASES_ASSESS,
    P.CASES_DECIDE,
    P.CASES_FOLLOW_UP,
    P.CASES_CLOSE,
    P.REFERRALS_READ,
    P.REFERRALS_RESPOND,
    P.LETTERS_ISSUE,
    P.PROPOSALS_MANAGE,
    P.PROPOSALS_VERIFY,
    P.EXPORTS_RUN,
    P.IMPORTS_RUN,
    P.PERSONAL_DATA_AUDIT,
    P.PERSONAL_DATA_ERASE,
}
assert not any(PERSONAL_DATA & r["tenant"] for r in PLATFORM_ROLES.values())


# The district permissions in the order and groups a role form shows them, as words.
GROUPS: list[tuple[Msg, list[P]]] = [
    (
        Msg("Pengaturan", "Settings"),
        [
            P.TENANT_READ,
            P.TENANT_CONFIGURE,
            P.PROGRAMS_READ,
            P.PROGRAMS_MANAGE,
            P.MEMBERS_READ,
            P.MEMBERS_MANAGE,
            P.ROLES_MANAGE,
            P.AUDIT_READ,
        ],
    ),
    (
        Msg("Data pribadi", "Personal data"),
        [P.REGISTRY_READ, P.REGISTRY_WRITE, P.PERSONAL_DATA_AUDIT, P.PERSONAL_DATA_ERASE],
    ),
    (
        Msg("Layanan dan rujukan", "Service and referrals"),
        [
            P.CASES_READ,
            P.CASES_REGISTER,
            P.CASES_ASSESS,
            P.CASES_DECIDE,
            P.CASES_FOLLOW_UP,
            P.CASES_CLOSE,
            P.REFERRALS_READ,
            P.REFERRALS_RESPOND,
            P.LETTERS_ISSUE,
            P.PROPOSALS_MANAGE,
            P.PROPOSALS_VERIFY,
        ],
    ),
    (
        Msg("Berkas, laporan dan pemakaian", "Files, reports and usage"),
        [P.IMPORTS_RUN, P.EXPORTS_RUN, P.JOBS_READ, P.JOBS_MANAGE, P.REPORTS_READ, P.USAGE_READ],
    ),
]
assert {p for _, group in GROUPS for p in group} == set(P)


def permission_label(key: str) -> Msg:
    """A permission in words (a key unknown to the list as itself)."""
    return PERMISSION_LABELS.get(key) or Msg(key, key)

"""Demo jobs (a DEMO_STEPS entry): each demo district gets a sample registry import, with one
row damaged by Excel so its error report shows what districts will see, run by the worker that
`slrt up` starts."""

from __future__ import annotations

import csv
import io

from slrt.platform import db
from slrt.platform.actor import SYSTEM
from slrt.platform.jobs.actions import add_input_file, enqueue
from slrt.platform.jobs.scheduler import active_tenants
from slrt.platform.tenancy import tenant_context


def _sample_csv(code: str, villages: list[str]) -> bytes:
    from slrt.platform import region_codes
    from slrt.tenants.registry.jobs import TEMPLATE

    village = villages[0]
    kec = village[:8].replace(".", "")
    if region_codes.kecamatan_by_compact(kec) is None:  # pragma: no cover - reference data gap
        return b""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerow(TEMPLATE)
    w.writerow([f"{kec}0101990001", f"{kec}1203750001", "Contoh Kepala Keluarga", "L", "",
                "12/03/1975", "kepala keluarga", "tidak", "", village, "Alamat contoh"])  # fmt: skip
    w.writerow([f"{kec}0101990001", f"{kec}5206780001", "Contoh Istri", "P", "",
                "12/06/1978", "istri", "tidak", "", village, "Alamat contoh"])  # fmt: skip
    # Damaged by Excel: the NIK became a number in scientific notation.
    w.writerow([f"{kec}0101990001", "7.37E+15", "Contoh Anak", "L", "", "01/01/2010",
                "anak", "tidak", "", village, "Alamat contoh"])  # fmt: skip
    return buf.getvalue().encode("utf-8")


def load_jobs_demo() -> list[str]:
    import sqlalchemy as sa

    from slrt.tenants.regions.models import Village

    for tenant in active_tenants():
        with tenant_context(tenant):
            villages = list(
                db.session.execute(sa.select(Village.code).order_by(Village.code)).scalars()
            )
            content = _sample_csv(tenant.code, villages) if villages else b""
            if not content:
                continue
            job = enqueue("registry.import", {"filename": "contoh-impor.csv"}, actor=SYSTEM)
            add_input_file(job, "contoh-impor.csv", "text/csv", content)
            db.session.flush()
    return [
        "Demo jobs: a sample registry import per district, with its error report "
        "(/api/v1/t/<slug>/jobs)"
    ]

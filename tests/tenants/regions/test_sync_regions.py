"""`slrt tenants sync-regions`: districts onboarded before regions existed get the missing
kecamatan and desa/kelurahan from the reference; renamed, deactivated and local ones stay as
they are and nothing is deleted."""

from __future__ import annotations

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform import region_codes as reference
from slrt.platform.tenancy import tenant_context
from slrt.tenants.districts.cli import tenants as tenants_cli
from slrt.tenants.regions.models import Kecamatan, Village


def _villages(app, tenant) -> dict[str, Village]:
    with app.app_context(), tenant_context(tenant.ref()):
        rows = {v.code: v for v in db.session.execute(sa.select(Village)).scalars()}
        db.session.expunge_all()
        db.session.remove()
    return rows


def test_sync_regions_fills_in_what_is_missing_and_keeps_local_changes(
    app, parepare, kendal
) -> None:
    kec_codes = [k.code for k in reference.children_of("73.72")]
    gone_kec = kec_codes[-1]
    full = {v.code for k in kec_codes for v in reference.children_of(k)}
    first_kec = sorted(v.code for v in reference.children_of(kec_codes[0]))
    renamed, deactivated, dropped = first_kec[0], first_kec[1], first_kec[2:4]
    with app.app_context(), tenant_context(parepare.ref()):
        # Parepare as a district onboarded before regions existed: a kecamatan and some
        # villages missing; meanwhile its admin renamed one, deactivated one, added a local one.
        db.session.execute(sa.delete(Village).where(Village.code.like(gone_kec + ".%")))
        db.session.execute(sa.delete(Village).where(Village.code.in_(dropped)))
        db.session.execute(sa.delete(Kecamatan).where(Kecamatan.code == gone_kec))
        db.session.execute(
            sa.update(Village).where(Village.code == renamed).values(name="Nama Baru Setempat")
        )
        db.session.execute(
            sa.update(Village).where(Village.code == deactivated).values(active=False)
        )
        kec = db.session.execute(
            sa.select(Kecamatan).where(Kecamatan.code == kec_codes[0])
        ).scalar_one()
        local_code = kec.code + ".1099"
        db.session.add(
            Village(
                kecamatan_id=kec.id,
                code=local_code,
                name="Kelurahan Setempat",
                kind="kelurahan",
                source="local",
            )
        )
        db.session.commit()
        db.session.remove()
    missing = len(reference.children_of(gone_kec)) + len(dropped)

    runner = app.test_cli_runner()
    result = runner.invoke(tenants_cli, args=["sync-regions", "73.72"])
    assert result.exit_code == 0, result.output
    assert f"+1 kecamatan, +{missing} desa/kelurahan" in result.output

    villages = _villages(app, parepare)
    assert set(villages) == full | {local_code}
    assert villages[renamed].name == "Nama Baru Setempat"
    assert villages[deactivated].active is False
    assert villages[local_code].source == "local"
    with app.app_context(), tenant_context(parepare.ref()):
        kec = db.session.execute(
            sa.select(Kecamatan).where(Kecamatan.code == gone_kec)
        ).scalar_one()
        assert {v.kecamatan_id for c, v in villages.items() if c.startswith(gone_kec)} == {kec.id}
        from slrt.platform.audit.models import AuditEvent

        sync = db.session.execute(
            sa.select(AuditEvent).where(AuditEvent.action == "regions.sync")
        ).scalar_one()
        assert sync.after == {"kecamatan_added": 1, "villages_added": missing}
        db.session.remove()

    # Idempotent, and --all walks every onboarded district.
    again = runner.invoke(tenants_cli, args=["sync-regions", "--all"])
    assert again.exit_code == 0
    assert "73.72 Kota Parepare: +0 kecamatan, +0 desa/kelurahan" in again.output
    assert "33.24 Kabupaten Kendal: +0 kecamatan, +0 desa/kelurahan" in again.output
    unknown = runner.invoke(tenants_cli, args=["sync-regions", "11.01"])
    assert unknown.exit_code == 1 and "tidak ditemukan" in unknown.output

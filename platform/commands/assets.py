"""`slrt assets DIR`: publish the fingerprinted, pre-compressed static files into DIR/static.

The app publishes the same files into SLRT_DATA_DIR as it starts; an installation also publishes
them into a folder the web server may read (nginx serves /static/ from disk and never reaches
the app for them). The names carry a hash of the content, so both copies agree."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("assets")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
def assets(target: Path) -> None:
    """Publish the static files (fingerprinted, with gzip copies) into TARGET/static."""
    from slrt.platform.assets import build

    manifest = build(target)
    click.echo(f"{len(manifest)} files in {target / 'static'}")

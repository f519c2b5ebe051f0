"""WSGI entry point for gunicorn: `gunicorn slrt.platform.wsgi:app`."""

from slrt.platform.app import create_app

app = create_app()

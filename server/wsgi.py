"""`server.wsgi:app` for any WSGI server (gunicorn, granian, uWSGI…); settings from the
environment, as for `kzcn-kg serve`."""

from . import create_app

app = create_app()

"""Security headers on every response: pages may load scripts, styles and data only from this
origin, may not be framed, and browsers must not guess content types."""

from flask import Flask, Response

# Scripts only from our own files (no inline script anywhere: page data travels in
# <script type="application/json"> blocks, which browsers never execute). Inline styles are
# allowed because YASGUI and the graph library set element styles from JavaScript.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def init_app(app: Flask) -> None:
    @app.after_request
    def secure(response: Response) -> Response:
        response.headers.update(HEADERS)
        if response.mimetype == "text/html":
            # A view may set its own, e.g. the reconciliation preview that OpenRefine frames.
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            if "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]:
                response.headers.setdefault("X-Frame-Options", "DENY")
        return response

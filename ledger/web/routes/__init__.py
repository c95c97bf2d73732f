"""One module per area of the web application; each route is thin: it reads the form, calls a
service, and renders or redirects."""

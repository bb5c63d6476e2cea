"""``workstation serve``: the centre as an Open311 GeoReport v2 server over the same database.

No Qt here: ``config`` reads the settings, ``public`` is the public view of cases, ``posts`` takes
requests clients post, ``clients`` lists the clients' keys for an administrator, ``wsgi`` is the WSGI
application and ``run`` serves it with waitress.
"""

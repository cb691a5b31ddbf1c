"""Local stand-ins for Canvas, Salesforce, FS, Cerebrum and SAP.

One folder per emulated system, each laid out as moto lays out a service:
``models.py`` (state and rules, no HTTP), ``responses.py`` (HTTP request -> model
call -> response in the system's exact shape), ``urls.py`` (the routes) and
``exceptions.py`` (the system's own error bodies). ``common`` holds what every
emulator shares: the ``/_emulator`` control surface, request statistics, fault
injection and a server thread. This package imports no other canvasbridge package.
"""

"""The HTTP edge: msgspec wire types, thin handlers, auth and the error mapping."""

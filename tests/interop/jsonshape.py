"""The shape of an AdminServer JSON answer, for comparing corral's with ZooKeeper's."""


def field_names(value, prefix=""):
    """Every key of a JSON answer, nested ones as `outer.inner` (list items as `outer[]`,
    numeric keys (session ids, times) as `<id>`)."""
    names = set()
    if isinstance(value, dict):
        for k, v in value.items():
            k = "<id>" if k.lstrip("-").isdigit() else k
            names.add(prefix + k)
            names |= field_names(v, prefix + k + ".")
    elif isinstance(value, list):
        for v in value:
            names |= field_names(v, prefix.rstrip(".") + "[].")
    return names

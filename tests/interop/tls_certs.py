"""Certificates for the TLS tests, made with the `openssl` command: a CA, a server
certificate for 127.0.0.1 / localhost, client certificates signed by that CA, and a client
certificate from a second CA the server does not trust. Keys are EC P-256 (fast to make).

Every key store is written as corral and ZooKeeper read PEM: one file with the PKCS#8 key and
the certificate (`<name>.pem`); kazoo takes the two apart (`<name>.key`, `<name>.crt`)."""

import os
import shutil
import subprocess

import pytest

# The certificates come from the openssl command (Debian package openssl, install-deps.sh).
needs_openssl = pytest.mark.skipif(not shutil.which("openssl"),
                                   reason="the openssl command (Debian package openssl) is missing")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


class Certs:
    """`dir` holds `ca.crt`, and for each made name `<name>.key`, `.crt` and `.pem`."""

    def __init__(self, dir):
        self.dir = dir
        os.makedirs(dir, exist_ok=True)
        self.ca("ca")

    def path(self, name):
        return os.path.join(self.dir, name)

    def ca(self, name):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
                 "-subj", f"/CN=corral test {name}", cwd=self.dir)
        return self.path(f"{name}.crt")

    def issue(self, name, subject, ca="ca", san="IP:127.0.0.1,DNS:localhost"):
        """A certificate for `subject` (openssl's `/O=x/CN=y` form) signed by `ca`."""
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
                 cwd=self.dir)
        ext = os.path.join(self.dir, f"{name}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\nextendedKeyUsage=serverAuth,clientAuth\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", ext,
                 cwd=self.dir)
        with open(self.path(f"{name}.pem"), "w") as out:
            for part in (f"{name}.key", f"{name}.crt"):
                with open(self.path(part)) as f:
                    out.write(f.read())
        return self.path(f"{name}.pem")

    def pkcs12(self, name, password):
        """`<name>.p12`: the key and certificate, encrypted with `password`."""
        _openssl("pkcs12", "-export", "-in", f"{name}.crt", "-inkey", f"{name}.key",
                 "-out", f"{name}.p12", "-passout", f"pass:{password}", cwd=self.dir)
        return self.path(f"{name}.p12")

    def pkcs12_trust(self, name, password):
        """`<name>-trust.p12`: the certificate as a trusted entry, as Java's keytool writes a
        trust store (openssl 3.0 cannot mark it trusted)."""
        out = self.path(f"{name}-trust.p12")
        subprocess.run(["keytool", "-importcert", "-noprompt", "-alias", name, "-file",
                        self.path(f"{name}.crt"), "-keystore", out, "-storetype", "PKCS12",
                        "-storepass", password], check=True, capture_output=True, timeout=120)
        return out

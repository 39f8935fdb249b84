"""Test PKI for integration and end-to-end tests, built with the openssl CLI (OpenSSL 3.0).

Every key is EC P-256. Leaf certificates are issued with a minimal `openssl ca` configuration so
that validity windows can be set freely (expired certificates) and certificates can be revoked and
listed in a CRL. Nothing here touches the system trust store or the default openssl.cnf.

    pki = build_test_pki(tmp_dir)
    pki.ca.cert_file, pki.server.cert_file, pki.server.key_file, pki.crl_file
    pki.clients["tenant-a"].cert_file / .key_file / .pem_file (cert + key, for ab/curl -E)
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import textwrap
from pathlib import Path

OPENSSL = "openssl"

# Names of the client certificates build_test_pki() issues, and what each is for.
STANDARD_CLIENTS = {
    "tenant-a": "CN=tenant-a, valid, main CA",
    "tenant-b": "CN=tenant-b, valid, main CA",
    "logging-agent": "CN=logging-agent, the only client allowed on the Loki route",
    "no-cn": "subject O=No CN only: gives no tenant with source subject_cn",
    "bad-cn": "CN='bad tenant/x', not a valid tenant ID",
    "dot-cn": "CN='.', not a valid tenant ID",
    "ou": "CN=ou-client, OU=team-ou",
    "san-dns": "CN=san-dns-client, SAN DNS tenant-d.clusters.example",
    "san-uri": "CN=san-uri-client, SAN URI spiffe://cluster.local/ns/tenant-u/sa/prometheus",
    "dns-agent": "CN=other-agent, SAN DNS logging-agent (route `clients` also match SAN DNS)",
    "pattern": "CN=cluster-abc123, for tenant.pattern '^cluster-([a-z0-9]+)$'",
    "expired": "CN=tenant-a, valid 2020-01-01..2020-01-02 only",
    "revoked": "CN=tenant-a, listed in the CRL",
    "foreign": "CN=tenant-a, issued by an unrelated CA",
}


class OpenSslError(RuntimeError):
    pass


def run_openssl(args: list[str], cwd: Path | None = None, env_extra: dict | None = None) -> str:
    """Run `openssl ARGS...`; raise OpenSslError with its output when it fails."""
    env = dict(os.environ)
    # An empty config keeps the distribution's openssl.cnf (and its defaults) out of the way.
    env.setdefault("OPENSSL_CONF", "/dev/null")
    if env_extra:
        env.update(env_extra)
    proc = subprocess.run(
        [OPENSSL, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise OpenSslError(f"openssl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}")
    return proc.stdout


@dataclasses.dataclass
class Leaf:
    """A certificate with its key; pem_file holds cert then key (for `curl -E` / `ab -E`)."""

    name: str
    cert_file: str
    key_file: str
    pem_file: str
    subject: str
    serial: str


def _escape_rdn(value: str) -> str:
    """Escape characters that `openssl req -subj` treats as separators."""
    return "".join("\\" + ch if ch in "/+=\\" else ch for ch in value)


def _subject_arg(cn: str | None, ou: str | None, o: str | None) -> str:
    parts = []
    if o:
        parts.append(f"/O={_escape_rdn(o)}")
    if ou:
        parts.append(f"/OU={_escape_rdn(ou)}")
    if cn is not None:
        parts.append(f"/CN={_escape_rdn(cn)}")
    if not parts:
        raise ValueError("a certificate needs at least one subject attribute")
    return "".join(parts)


class CertificateAuthority:
    """A self-signed EC P-256 CA kept in DIRECTORY, issuing leaves with `openssl ca`."""

    def __init__(self, directory: str | os.PathLike, name: str = "MLA Test CA"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "newcerts").mkdir(exist_ok=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "index.txt.attr").write_text("unique_subject = no\n")
        (self.dir / "serial").write_text("1000\n")
        (self.dir / "crlnumber").write_text("1000\n")
        self.name = name
        self.cert_file = str(self.dir / "ca.crt")
        self.key_file = str(self.dir / "ca.key")
        self.config_file = str(self.dir / "ca.cnf")
        self._write_config()
        run_openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-out", self.key_file])
        run_openssl(["req", "-config", self.config_file, "-new", "-x509", "-key", self.key_file,
                     "-subj", f"/O=MLA Tests/CN={name}", "-days", "3650", "-sha256",
                     "-extensions", "v3_ca", "-out", self.cert_file])

    def _write_config(self) -> None:
        d = str(self.dir)
        Path(self.config_file).write_text(textwrap.dedent(f"""\
            [ ca ]
            default_ca = CA_default

            [ CA_default ]
            dir = {d}
            database = {d}/index.txt
            new_certs_dir = {d}/newcerts
            serial = {d}/serial
            crlnumber = {d}/crlnumber
            certificate = {d}/ca.crt
            private_key = {d}/ca.key
            default_md = sha256
            default_days = 365
            default_crl_days = 30
            policy = policy_any
            unique_subject = no
            copy_extensions = none
            email_in_dn = no

            [ policy_any ]
            organizationName = optional
            organizationalUnitName = optional
            commonName = optional

            [ req ]
            distinguished_name = req_dn
            prompt = no

            [ req_dn ]
            CN = unused

            [ v3_ca ]
            basicConstraints = critical, CA:TRUE
            keyUsage = critical, keyCertSign, cRLSign
            subjectKeyIdentifier = hash
            authorityKeyIdentifier = keyid:always
            """))

    def _issue(self, name: str, subject: str, extensions: str, days: int | None,
               startdate: str | None, enddate: str | None) -> Leaf:
        key = self.dir / f"{name}.key"
        csr = self.dir / f"{name}.csr"
        crt = self.dir / f"{name}.crt"
        pem = self.dir / f"{name}.pem"
        ext = self.dir / f"{name}.ext"
        ext.write_text("[ leaf ]\n" + extensions)
        run_openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-out", str(key)])
        run_openssl(["req", "-config", self.config_file, "-new", "-key", str(key),
                     "-subj", subject, "-out", str(csr)])
        args = ["ca", "-config", self.config_file, "-batch", "-notext", "-preserveDN",
                "-in", str(csr), "-out", str(crt), "-extfile", str(ext), "-extensions", "leaf"]
        if startdate or enddate:
            args += ["-startdate", startdate or "20200101000000Z",
                     "-enddate", enddate or "20200102000000Z"]
        else:
            args += ["-days", str(days or 365)]
        run_openssl(args)
        pem.write_text(crt.read_text() + key.read_text())
        serial = run_openssl(["x509", "-in", str(crt), "-noout", "-serial"]).strip()
        return Leaf(name=name, cert_file=str(crt), key_file=str(key), pem_file=str(pem),
                    subject=subject, serial=serial.split("=", 1)[-1])

    def issue_server(self, name: str = "server", dns: tuple[str, ...] = ("localhost",),
                     ips: tuple[str, ...] = ("127.0.0.1",), days: int = 365,
                     startdate: str | None = None, enddate: str | None = None) -> Leaf:
        """A TLS server certificate for the given DNS names and IP addresses, valid DAYS days
        from now (or STARTDATE..ENDDATE, YYYYMMDDHHMMSSZ, e.g. an expired one)."""
        san = ", ".join([f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips])
        ext = textwrap.dedent(f"""\
            basicConstraints = critical, CA:FALSE
            keyUsage = critical, digitalSignature
            extendedKeyUsage = serverAuth
            subjectAltName = {san}
            """)
        return self._issue(name, _subject_arg(dns[0] if dns else "server", None, "MLA Tests"),
                           ext, days, startdate, enddate)

    def issue_client(self, name: str, cn: str | None = None, ou: str | None = None,
                     o: str | None = None, san_dns: tuple[str, ...] = (),
                     san_uri: tuple[str, ...] = (), days: int = 365,
                     startdate: str | None = None, enddate: str | None = None) -> Leaf:
        """A TLS client certificate. startdate/enddate (YYYYMMDDHHMMSSZ) override days."""
        lines = ["basicConstraints = critical, CA:FALSE",
                 "keyUsage = critical, digitalSignature",
                 "extendedKeyUsage = clientAuth"]
        san = [f"DNS:{d}" for d in san_dns] + [f"URI:{u}" for u in san_uri]
        if san:
            lines.append("subjectAltName = " + ", ".join(san))
        return self._issue(name, _subject_arg(cn, ou, o), "\n".join(lines) + "\n", days,
                           startdate, enddate)

    def revoke(self, leaf: Leaf) -> None:
        run_openssl(["ca", "-config", self.config_file, "-batch", "-revoke", leaf.cert_file,
                     "-crl_reason", "keyCompromise"])

    def generate_crl(self, path: str | os.PathLike | None = None) -> str:
        """Write the CA's CRL (PEM) and return its path."""
        out = str(path or (self.dir / "crl.pem"))
        run_openssl(["ca", "-config", self.config_file, "-batch", "-gencrl", "-out", out])
        return out


@dataclasses.dataclass
class TestPki:
    """The standard PKI: main CA + server cert + clients (see STANDARD_CLIENTS), a CRL, a 2nd CA."""

    __test__ = False  # not a pytest test class

    dir: str
    ca: CertificateAuthority
    other_ca: CertificateAuthority
    server: Leaf
    clients: dict[str, Leaf]
    crl_file: str
    # Concatenation of the main CA and the other CA, for clients that should trust both.
    ca_bundle_file: str

    def client(self, name: str) -> Leaf:
        return self.clients[name]


def build_test_pki(directory: str | os.PathLike) -> TestPki:
    """Create the standard test PKI under DIRECTORY (takes about a second)."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    ca = CertificateAuthority(root / "ca", "MLA Test CA")
    other = CertificateAuthority(root / "other-ca", "Unrelated CA")
    server = ca.issue_server("server")
    c = {}
    c["tenant-a"] = ca.issue_client("tenant-a", cn="tenant-a")
    c["tenant-b"] = ca.issue_client("tenant-b", cn="tenant-b")
    c["logging-agent"] = ca.issue_client("logging-agent", cn="logging-agent")
    c["no-cn"] = ca.issue_client("no-cn", cn=None, o="No CN")
    c["bad-cn"] = ca.issue_client("bad-cn", cn="bad tenant/x")
    c["dot-cn"] = ca.issue_client("dot-cn", cn=".")
    c["ou"] = ca.issue_client("ou", cn="ou-client", ou="team-ou")
    c["san-dns"] = ca.issue_client("san-dns", cn="san-dns-client",
                                   san_dns=("tenant-d.clusters.example",))
    c["san-uri"] = ca.issue_client("san-uri", cn="san-uri-client",
                                   san_uri=("spiffe://cluster.local/ns/tenant-u/sa/prometheus",))
    c["dns-agent"] = ca.issue_client("dns-agent", cn="other-agent", san_dns=("logging-agent",))
    c["pattern"] = ca.issue_client("pattern", cn="cluster-abc123")
    c["expired"] = ca.issue_client("expired", cn="tenant-a",
                                   startdate="20200101000000Z", enddate="20200102000000Z")
    c["revoked"] = ca.issue_client("revoked", cn="tenant-a")
    ca.revoke(c["revoked"])
    crl = ca.generate_crl(root / "crl.pem")
    c["foreign"] = other.issue_client("foreign", cn="tenant-a")
    bundle = root / "ca-bundle.crt"
    bundle.write_text(Path(ca.cert_file).read_text() + Path(other.cert_file).read_text())
    return TestPki(dir=str(root), ca=ca, other_ca=other, server=server, clients=c, crl_file=crl,
                   ca_bundle_file=str(bundle))


def describe(cert_file: str) -> str:
    """`openssl x509 -text` of a certificate, for debugging failures."""
    return run_openssl(["x509", "-in", cert_file, "-noout", "-text"])


if __name__ == "__main__":  # python3 tests/support/pki.py DIR: build and print the PKI
    import sys

    target = sys.argv[1] if len(sys.argv) > 1 else "./test-pki"
    p = build_test_pki(target)
    print(f"CA: {p.ca.cert_file}\nserver: {p.server.cert_file}\nCRL: {p.crl_file}")
    for n, leaf in p.clients.items():
        print(f"{n}: {leaf.pem_file}  ({STANDARD_CLIENTS[n]})")

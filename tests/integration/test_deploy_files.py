"""The deployment files under docker/: Kubernetes manifests, image build files, alert rules and
the Grafana dashboard (issue 8). No cluster and no image needed.

- yamllint over docker/kubernetes and docker/monitoring (docker/.yamllint).
- Each kustomization's references exist, and the overlays render (a small built-in subset of
  kustomize: resources, components, strategic-merge `patches` by kind and name, namespace,
  images; Debian 12 has no kustomize new enough) into the objects the gateway needs.
- Every gateway config in a ConfigMap passes `mla-gateway --check-config` (paths under
  /etc/mla-gateway, /run/mla-gateway and /var/lib/mla-gateway moved into a temp dir holding the
  test PKI's certificates and a token), and the Deployment agrees with it: ports, probes, drain
  time, certificate and writable mounts, replicas vs limits.replicas(_from_dns).
- `promtool check rules` and `promtool test rules` on the alert rules; the dashboard's queries
  parse (promtool) and, like the rules, use only metric names the gateway exports: listed in the
  README's Metrics table *and* present on a running gateway's /metrics.
"""

from __future__ import annotations

import copy
import http.client
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from support import gateway as gw

ROOT = gw.SOURCE_DIR
DOCKER = ROOT / "docker"
K8S = DOCKER / "kubernetes"
MONITORING = DOCKER / "monitoring"
OVERLAYS = ["per-cluster", "shared"]
ALERTS = MONITORING / "mla-gateway-alerts.yaml"
ALERT_TESTS = MONITORING / "mla-gateway-alerts.test.yaml"
DASHBOARD = MONITORING / "mla-gateway-dashboard.json"

# Paths of the pod that --check-config needs to find on this machine.
POD_PREFIXES = ("/etc/mla-gateway/", "/run/mla-gateway/", "/var/lib/mla-gateway/")


def yaml_module():
    try:
        import yaml  # python3-yaml: a dependency of Debian's yamllint
    except ImportError:
        pytest.fail("python3-yaml missing: bash scripts/install-deps.sh (yamllint pulls it in)")
    return yaml


def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml_module().safe_load_all(path.read_text()) if d is not None]


# --- a small kustomize ------------------------------------------------------------------------

NAMESPACED_KINDS = {"ConfigMap", "Deployment", "Service", "ServiceAccount", "Secret",
                    "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"}


def merge(base, patch):
    """Strategic merge as kustomize does it for the fields used here: maps merge key by key,
    lists of maps with a `name` merge by name, other lists and scalars are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if (isinstance(base, list) and isinstance(patch, list) and patch
            and all(isinstance(i, dict) and "name" in i for i in base + patch)):
        out = [copy.deepcopy(i) for i in base]
        for item in patch:
            for idx, existing in enumerate(out):
                if existing["name"] == item["name"]:
                    out[idx] = merge(existing, item)
                    break
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def key_of(doc: dict) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def kustomize(directory: Path) -> list[dict]:
    """Render the kustomization in DIRECTORY (a Kustomization or a Component)."""
    k = load_docs(directory / "kustomization.yaml")[0]
    assert k["kind"] in ("Kustomization", "Component"), directory
    known = {"apiVersion", "kind", "resources", "components", "patches", "namespace", "images"}
    assert set(k) <= known, f"{directory}: kustomization fields this test does not model: " \
                            f"{sorted(set(k) - known)}"
    docs: list[dict] = []
    for res in k.get("resources", []):
        path = (directory / res).resolve()
        docs += kustomize(path) if path.is_dir() else load_docs(path)
    for comp in k.get("components", []):
        docs += kustomize((directory / comp).resolve())
    keys = [key_of(d) for d in docs]
    assert len(keys) == len(set(keys)), f"{directory}: duplicate objects {keys}"
    for patch in k.get("patches", []):
        assert set(patch) == {"path"}, f"{directory}: only `patches: [{{path: ...}}]` is modelled"
        for p in load_docs(directory / patch["path"]):
            matches = [i for i, d in enumerate(docs) if key_of(d) == key_of(p)]
            assert matches, f"{directory}/{patch['path']}: patch target {key_of(p)} not found"
            docs[matches[0]] = merge(docs[matches[0]], p)
    if "namespace" in k:
        for d in docs:
            if d["kind"] in NAMESPACED_KINDS:
                d["metadata"]["namespace"] = k["namespace"]
    for image in k.get("images", []):
        for d in docs:
            for c in pod_spec(d).get("containers", []) if d["kind"] == "Deployment" else []:
                name, _, _ = c["image"].partition(":")
                if name == image["name"]:
                    c["image"] = f"{image.get('newName', name)}:{image['newTag']}"
    return docs


def pod_spec(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict], kind: str, name: str | None = None) -> dict:
    found = [d for d in by_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request):
    return request.param, kustomize(K8S / "overlays" / request.param)


def gateway_config(docs: list[dict], deployment: dict) -> tuple[dict, str]:
    """The config the Deployment's --config.file names: (parsed YAML, text)."""
    container = pod_spec(deployment)["containers"][0]
    arg = next(a for a in container["args"] if a.startswith("--config.file="))
    path = arg.split("=", 1)[1]
    mount = next(m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod_spec(deployment)["volumes"] if v["name"] == mount["name"])
    assert "subPath" not in mount, "a subPath mount never sees ConfigMap updates"
    cm = one(docs, "ConfigMap", volume["configMap"]["name"])
    text = cm["data"][path[len(mount["mountPath"]) + 1:]]
    return yaml_module().safe_load(text), text


def duration_seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value):
        total += float(number) * units[unit]
    assert total > 0, f"unparsed duration {value!r}"
    return total


def port_of(listen: str) -> int:
    return int(listen.rsplit(":", 1)[1])


# --- lint and structure -----------------------------------------------------------------------

def test_yamllint():
    """yamllint (docker/.yamllint) passes on every manifest, rule file and rule test."""
    yamllint = shutil.which("yamllint")
    if not yamllint:
        pytest.fail("yamllint not installed: bash scripts/install-deps.sh")
    r = subprocess.run([yamllint, "-c", str(DOCKER / ".yamllint"), "-s", "-f", "parsable",
                        str(K8S), str(MONITORING)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_manifest_is_used_by_a_kustomization():
    """Each YAML file under docker/kubernetes is a kustomization, referenced by one, or the
    Secrets example; every reference points at an existing file or directory."""
    referenced = set()
    for k_file in K8S.rglob("kustomization.yaml"):
        k = load_docs(k_file)[0]
        refs = k.get("resources", []) + k.get("components", []) + \
            [p["path"] for p in k.get("patches", [])]
        for ref in refs:
            path = (k_file.parent / ref).resolve()
            assert path.exists(), f"{k_file}: {ref} does not exist"
            referenced.add(path)
    for f in K8S.rglob("*.yaml"):
        if f.name == "kustomization.yaml" or f.name == "secrets.example.yaml":
            continue
        assert f.resolve() in referenced, f"{f.relative_to(ROOT)} is used by no kustomization"


def test_overlays_render_the_full_set(overlay):
    """Each overlay has the Deployment, the three Services, ConfigMap, PDB, NetworkPolicy and
    ServiceAccount; the shared one adds the HPA; labels and selectors agree."""
    name, docs = overlay
    kinds = sorted(d["kind"] for d in docs)
    expected = ["ConfigMap", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service",
                "Service", "Service", "ServiceAccount"]
    if name == "shared":
        expected.append("HorizontalPodAutoscaler")
    assert kinds == sorted(expected)
    namespaces = {d["metadata"].get("namespace") for d in docs}
    assert len(namespaces) == 1 and None not in namespaces, namespaces
    dep = one(docs, "Deployment")
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    selectors = [dep["spec"]["selector"]["matchLabels"],
                 one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
                 one(docs, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"]]
    selectors += [s["spec"]["selector"] for s in by_kind(docs, "Service")]
    for sel in selectors:
        assert sel.items() <= pod_labels.items(), f"selector {sel} misses the pods {pod_labels}"
    services = {s["metadata"]["name"]: s for s in by_kind(docs, "Service")}
    assert services["mla-gateway-headless"]["spec"]["clusterIP"] == "None"
    assert not services["mla-gateway-headless"]["spec"].get("publishNotReadyAddresses", False)
    assert services["mla-gateway-read"]["spec"]["type"] == "ClusterIP"
    container_ports = {p["name"] for p in pod_spec(dep)["containers"][0]["ports"]}
    for svc in services.values():
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in container_ports, (svc["metadata"]["name"], port)
    assert "admin" not in {p["targetPort"] for s in services.values() for p in s["spec"]["ports"]}
    for hpa in by_kind(docs, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]


def test_pod_security_and_writable_paths(overlay):
    """Non-root, no privilege escalation, read-only root, no capabilities; the only writable
    mounts are emptyDirs at the control socket's and the state file's directories; the
    certificate Secret is a directory mount (rotation), never a subPath."""
    _, docs = overlay
    dep = one(docs, "Deployment")
    spec = pod_spec(dep)
    container = spec["containers"][0]
    sc = container["securityContext"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert spec["automountServiceAccountToken"] is False
    anti = spec["affinity"]["podAntiAffinity"]
    assert anti.get("preferredDuringSchedulingIgnoredDuringExecution") or \
        anti.get("requiredDuringSchedulingIgnoredDuringExecution")

    config, _ = gateway_config(docs, dep)
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    writable = {path for path, m in mounts.items() if not m.get("readOnly")}
    admin = config["admin"]
    assert writable == {str(Path(admin["socket"]).parent), str(Path(admin["state_file"]).parent)}
    for path in writable:
        assert "emptyDir" in volumes[mounts[path]["name"]]
    for key in ("cert_file", "key_file", "client_ca_file"):
        directory = str(Path(config["tls"][key]).parent)
        mount = mounts[directory]
        assert "subPath" not in mount and mount.get("readOnly") is True
        assert "secret" in volumes[mount["name"]], f"tls.{key} is not on a Secret volume"
    if admin.get("token_file"):
        assert "secret" in volumes[mounts[str(Path(admin["token_file"]).parent)]["name"]]


def test_deployment_matches_its_config(overlay):
    """Container ports = the config's listeners; probes on the admin listener (0.0.0.0: the
    kubelet probes the pod IP); terminationGracePeriodSeconds covers preStop + the drain."""
    _, docs = overlay
    dep = one(docs, "Deployment")
    container = pod_spec(dep)["containers"][0]
    config, _ = gateway_config(docs, dep)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["mtls"] == port_of(config["server"]["listen"])
    assert ports["read"] == port_of(config["read"]["listen"])
    assert ports["admin"] == port_of(config["admin"]["listen"])
    assert config["admin"]["listen"].startswith("0.0.0.0:")
    assert container["livenessProbe"]["httpGet"] == {"path": "/-/healthy", "port": "admin"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/-/ready", "port": "admin"}

    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "/bin/sleep"
    grace = duration_seconds(config["server"]["shutdown_grace_period"])
    period = pod_spec(dep)["terminationGracePeriodSeconds"]
    assert period >= int(pre_stop[1]) + grace + 1, \
        f"terminationGracePeriodSeconds {period} < preStop {pre_stop[1]} + drain {grace} + 1"
    assert period <= int(pre_stop[1]) + grace + 30, "SIGKILL comes much later than needed"
    threads = config["server"]["threads"]
    cpu = container["resources"]["limits"]["cpu"]
    assert threads > 0 and str(threads) == str(cpu), \
        "server.threads should match the CPU limit (0 means the node's cores)"


def test_limits_follow_the_replica_count(overlay):
    """Rates are divided by the replica count: a static limits.replicas must equal the
    Deployment's replicas; with an HPA, limits.replicas_from_dns must name this overlay's
    headless Service, and limits.replicas (used until the first lookup) = minReplicas."""
    _, docs = overlay
    dep = one(docs, "Deployment")
    config, _ = gateway_config(docs, dep)
    limits = config["limits"]
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    assert limits.get("replicas", 1) == dep["spec"]["replicas"]
    if hpas:
        headless = one(docs, "Service", "mla-gateway-headless")
        namespace = headless["metadata"]["namespace"]
        assert limits.get("replicas_from_dns", "").startswith(
            f"mla-gateway-headless.{namespace}.svc"), limits
        assert limits.get("replicas", 1) == hpas[0]["spec"]["minReplicas"]


def test_network_policy_keeps_the_admin_port_in(overlay):
    """The mTLS port is open; the read and admin ports only to selected peers."""
    _, docs = overlay
    policy = one(docs, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    open_ports, restricted = set(), set()
    for rule in policy["spec"]["ingress"]:
        ports = {p["port"] for p in rule["ports"]}
        (restricted if rule.get("from") else open_ports).update(ports)
    config, _ = gateway_config(docs, one(docs, "Deployment"))
    assert port_of(config["server"]["listen"]) in open_ports
    assert port_of(config["admin"]["listen"]) not in open_ports
    assert port_of(config["read"]["listen"]) not in open_ports


# --- configs through the real binary ----------------------------------------------------------

def all_configmap_configs() -> list[tuple[str, str]]:
    """(where, text) of every config.yaml in a ConfigMap: the files as written and the overlays
    as rendered."""
    out = []
    for f in sorted(K8S.rglob("*.yaml")):
        for doc in load_docs(f):
            if doc.get("kind") == "ConfigMap":
                for key, text in doc.get("data", {}).items():
                    out.append((f"{f.relative_to(ROOT)}:{key}", text))
    for name in OVERLAYS:
        for doc in by_kind(kustomize(K8S / "overlays" / name), "ConfigMap"):
            for key, text in doc["data"].items():
                out.append((f"overlay {name} (rendered):{key}", text))
    return out


def test_configmap_configs_pass_check_config(gateway_bin, test_pki, tmp_path):
    """`mla-gateway --check-config` accepts every ConfigMap config: all keys known, values
    valid, certificate and token files loadable (the test PKI's, at the pod's paths)."""
    configs = all_configmap_configs()
    assert len(configs) >= 5, configs  # base, two overlay patches, two rendered overlays
    root = tmp_path / "pod"
    files = {
        "etc/mla-gateway/tls/tls.crt": test_pki.server.cert_file,
        "etc/mla-gateway/tls/tls.key": test_pki.server.key_file,
        "etc/mla-gateway/tls/ca.crt": test_pki.ca.cert_file,
    }
    for rel, src in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, root / rel)
    (root / "etc/mla-gateway/admin").mkdir(parents=True)
    (root / "etc/mla-gateway/admin/token").write_text("0123456789abcdef\n")
    for d in ("run/mla-gateway", "var/lib/mla-gateway"):
        (root / d).mkdir(parents=True)
    failures = []
    for i, (where, text) in enumerate(configs):
        for prefix in POD_PREFIXES:
            text = text.replace(prefix, f"{root}{prefix}")
        stray = re.search(rf"(?<!{re.escape(str(root))})/(etc|run|var/lib)/mla-gateway", text)
        assert not stray, f"{where}: a pod path left unmapped: {stray}"
        path = tmp_path / f"config-{i}.yaml"
        path.write_text(text)
        r = subprocess.run([gateway_bin, f"--config.file={path}", "--check-config"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or "configuration OK" not in r.stdout:
            failures.append(f"{where}: exit {r.returncode}: {r.stdout}{r.stderr}")
    assert not failures, "\n".join(failures)


# --- the image files --------------------------------------------------------------------------

def test_dockerfile_shape():
    """Multi-stage from `ARG BASE`, non-root user = the Deployment's runAsUser, writable volumes,
    STOPSIGNAL, HEALTHCHECK on /-/healthy, OCI labels; COPY sources exist."""
    text = (DOCKER / "Dockerfile").read_text()
    lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    first_from = next(i for i, l in enumerate(lines) if l.startswith("FROM "))
    assert any(l.startswith("ARG BASE=") for l in lines[:first_from])
    assert any(l.startswith("ARG RUNTIME_BASE=") for l in lines[:first_from])
    froms = [l for l in lines if l.startswith("FROM ")]
    assert froms[0].startswith("FROM ${BASE} AS build") and froms[-1] == "FROM ${RUNTIME_BASE}"
    user = re.search(r"^USER (\d+):(\d+)$", text, re.M)
    assert user and int(user.group(1)) != 0
    dep = one(kustomize(K8S / "base"), "Deployment")
    assert pod_spec(dep)["securityContext"]["runAsUser"] == int(user.group(1))
    assert re.search(r'^VOLUME \["/run/mla-gateway", "/var/lib/mla-gateway"\]$', text, re.M)
    assert re.search(r"^STOPSIGNAL SIGTERM$", text, re.M)
    assert "HEALTHCHECK" in text and "/-/healthy" in (DOCKER / "healthcheck.sh").read_text()
    for label in ("title", "version", "revision", "created", "base.name"):
        assert f"org.opencontainers.image.{label}=" in text
    for m in re.finditer(r"^COPY (?!--from)(.+) (\S+)$", text, re.M):
        for src in m.group(1).split():
            assert (ROOT / src).exists(), f"COPY source {src} missing"
    # build.sh stages exactly what the Dockerfile copies.
    build_sh = (DOCKER / "build.sh").read_text()
    for m in re.finditer(r"^COPY (?!--from)(.+) (\S+)$", text, re.M):
        for src in m.group(1).split():
            assert src in build_sh, f"docker/build.sh does not stage {src}"
    for script in ("build.sh", "make-base-image.sh", "healthcheck.sh"):
        r = subprocess.run(["bash", "-n", str(DOCKER / script)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def test_build_packages_come_from_install_deps():
    """The build stage installs BUILD_PACKAGES of scripts/install-deps.sh, read the way the
    Dockerfile reads them (a new build dependency needs no Dockerfile edit)."""
    script = (ROOT / "scripts/install-deps.sh").read_text()
    block = re.search(r"^readonly BUILD_PACKAGES=\(\n(.*?)^\)", script, re.M | re.S)
    assert block, "BUILD_PACKAGES=( ... ) not found in scripts/install-deps.sh"
    packages = block.group(1).split()
    assert "libboost1.81-dev" in packages and not any(p.startswith("#") for p in packages)
    assert "sed -n '/^readonly BUILD_PACKAGES=(/,/^)/p'" in (DOCKER / "Dockerfile").read_text()


# --- alert rules and dashboard ----------------------------------------------------------------

def promtool() -> str:
    path = shutil.which("promtool")
    if not path:
        pytest.fail("promtool not installed (Debian package prometheus): bash scripts/install-deps.sh")
    return path


def test_alert_rules_promtool():
    """`promtool check rules` and the rules' unit tests (`promtool test rules`) pass."""
    r = subprocess.run([promtool(), "check", "rules", str(ALERTS)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([promtool(), "test", "rules", ALERT_TESTS.name], cwd=MONITORING,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    names = {rule["alert"] for g in load_docs(ALERTS)[0]["groups"] for rule in g["rules"]}
    assert names >= {"MLAGatewayDown", "MLAGatewayHigh5xxRatio", "MLAGatewayUpstreamErrors",
                     "MLAGatewayTenantRateLimited", "MLAGatewayTenantDisabled",
                     "MLAGatewayCertificateExpiringSoon", "MLAGatewayConfigReloadFailed",
                     "MLAGatewayTLSHandshakeFailures"}


PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                "unless", "bool", "offset", "inf", "nan"}


def promql_metrics(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords, label
    names (in {} or by/on clauses) or parts of strings and ranges."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"\{[^}]*\}", "", s)
    s = re.sub(r"\[[^\]]*\]", "", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", s)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s):
        token = m.group(0)
        if token in PROMQL_WORDS or re.match(r"\s*\(", s[m.end():]):
            continue
        if m.start() > 0 and (s[m.start() - 1].isdigit() or s[m.start() - 1] == "$"):
            continue  # 5m, 1e3, $var
        names.add(token)
    return names


def test_promql_metrics_parser():
    """The name extraction the next tests rely on."""
    assert promql_metrics('sum by (tenant, reason) (rate(a_total{x="b c", y=~"$v"}[5m])) '
                          '/ on (tenant) group_left b > 14 * 86400 or vector(0)') == {"a_total", "b"}
    assert promql_metrics("histogram_quantile(0.99, sum by (le) (rate(h_bucket[$__rate_interval])))"
                          ) == {"h_bucket"}


def dashboard_queries() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    exprs = []

    def walk(panels):
        for p in panels:
            exprs.extend(t["expr"] for t in p.get("targets", []) if t.get("expr"))
            walk(p.get("panels", []))

    walk(dash["panels"])
    return exprs


def dashboard_variable_metrics() -> set[str]:
    dash = json.loads(DASHBOARD.read_text())
    names = set()
    for var in dash["templating"]["list"]:
        if var["type"] == "query":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            m = re.match(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)", query)
            assert m, f"variable {var['name']}: {query}"
            names.add(m.group(1))
    return names


def documented_metrics() -> set[str]:
    """Series names of the README's Metrics table, with _bucket/_sum/_count for histograms."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Metrics", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = line.split("|")
        found = re.findall(r"`((?:mla_gateway|process)_[a-z_]+)`", cells[1])
        names.update(found)
        if "histogram" in cells[2]:
            names.update(f"{n}{suffix}" for n in found for suffix in ("_bucket", "_sum", "_count"))
    assert "mla_gateway_requests_total" in names, "README Metrics table not found"
    return names


def test_dashboard_queries_parse(tmp_path):
    """Every dashboard query is valid PromQL (promtool, with Grafana's variables filled in)."""
    exprs = dashboard_queries()
    assert len(exprs) >= 15
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}",
         "expr": re.sub(r"\$(job|namespace|pod|tenant)\b", ".*",
                        e.replace("$__rate_interval", "5m"))}
        for i, e in enumerate(exprs)]}]}
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(json.dumps(rules))  # JSON is YAML
    r = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module")
def exported_metrics(module_gateways, gateway_bin):
    """Series names on a running gateway's /metrics (# TYPE lines, histograms expanded)."""
    backend_port = gw.free_port()  # never contacted: no traffic is sent
    admin_port = gw.free_port()
    g = module_gateways.start({"cortex": f"http://127.0.0.1:{backend_port}",
                               "loki": f"http://127.0.0.1:{backend_port}"},
                              admin={"listen": f"127.0.0.1:{admin_port}"})
    conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=10)
    conn.request("GET", "/metrics")
    resp = conn.getresponse()
    text = resp.read().decode()
    conn.close()
    assert resp.status == 200 and g.running()
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        names.add(name)
        if kind == "histogram":
            names.update(f"{name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
    return names


def test_monitoring_uses_only_exported_metrics(exported_metrics):
    """Alert rules and dashboard use only metric names the gateway exports and the README
    documents (the alert rules may also use Prometheus' own `up`)."""
    documented = documented_metrics()
    allowed = documented & exported_metrics
    assert documented - exported_metrics == set(), "README lists series /metrics does not have"
    rule_exprs = [rule["expr"] for g in load_docs(ALERTS)[0]["groups"] for rule in g["rules"]]
    used_by_rules = set().union(*(promql_metrics(e) for e in rule_exprs))
    used_by_dashboard = set().union(*(promql_metrics(e) for e in dashboard_queries()))
    used_by_dashboard |= dashboard_variable_metrics()
    assert used_by_rules - allowed - {"up"} == set()
    assert used_by_dashboard - allowed == set()
    # The main families are all watched somewhere.
    for name in ("mla_gateway_requests_total", "mla_gateway_rejected_requests_total",
                 "mla_gateway_tls_handshake_failures_total", "mla_gateway_tenant_enabled",
                 "mla_gateway_certificate_expiry_timestamp_seconds",
                 "mla_gateway_config_last_reload_successful",
                 "mla_gateway_upstream_requests_total"):
        assert name in used_by_rules, name
    assert len(used_by_dashboard) >= 12, used_by_dashboard

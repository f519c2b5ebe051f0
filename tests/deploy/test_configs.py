"""The deploy/ files checked by the tools that will read them: nginx -t, systemd-analyze,
bash -n and shellcheck, the Kubernetes schemas (kubernetes-validate, offline), YAML for
compose; and against the app's own configuration table in README.md."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.deploy.servers import DEPLOY, REPO, SLRT, Nginx, free_port


def readme_settings() -> dict[str, str]:
    """Name -> default of every row of README.md's Configuration table."""
    rows = re.findall(
        r"(?m)^\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \|", (REPO / "README.md").read_text()
    )
    assert len(rows) > 20, "README.md's Configuration table was not found"
    return {name: default.strip().strip("`") for name, default in rows}


def env_names(text: str) -> set[str]:
    return set(re.findall(r"(?m)^([A-Z][A-Z0-9_]+)=", text))


# --- nginx --------------------------------------------------------------------------------------


def test_nginx_site_passes_nginx_t() -> None:
    d = Path(tempfile.mkdtemp(prefix="slrt-nginx-t-"))
    try:
        output = Nginx(d, [free_port(), free_port()], free_port(), free_port()).prepare()
        assert "syntax is ok" in output and "test is successful" in output
        assert "[warn]" not in output, output
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_nginx_site_rules() -> None:
    site = (DEPLOY / "nginx" / "slrt.conf").read_text()
    proxy = (DEPLOY / "nginx" / "snippets" / "slrt-proxy.conf").read_text()
    upstream = (DEPLOY / "nginx" / "slrt-upstream.conf").read_text()
    code = "\n".join(ln.split("#")[0] for ln in (site + proxy).splitlines())
    log_format = re.search(r"log_format slrt_noquery(.*?);", code, re.S).group(1)
    for leaky in ("$request_uri", "$request ", "$args", "$query_string", "$http_referer"):
        assert leaky not in log_format
    assert "$uri" in log_format and "$request_id" in log_format
    assert len(re.findall(r"access_log \S+ slrt_noquery;", code)) == 2
    # Retries never re-send a POST/PATCH that reached a node.
    retry = re.search(r"proxy_next_upstream ([^;]*);", code).group(1).split()
    assert "non_idempotent" not in retry and {"error", "timeout"} <= set(retry)
    assert "proxy_set_header X-Request-ID $request_id;" in code
    assert "proxy_hide_header X-Request-ID;" in code  # one id in the answer, not two
    # The metrics are for Prometheus on the private network, never through the public site.
    assert re.search(r"location = /metrics \{\s*return 404;\s*\}", code)
    # One proxy in front of the app: SLRT_TRUSTED_PROXIES=1 reads these three.
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"):
        assert f"proxy_set_header {header} " in code
    # Uploads: nginx lets through what the app accepts (its limit plus 64 KiB of framing).
    size = re.search(r"client_max_body_size (\d+)m;", code).group(1)
    app_limit = int(readme_settings()["SLRT_MAX_UPLOAD_BYTES"])
    assert app_limit + 65536 <= int(size) * 1024 * 1024 <= app_limit * 1.25
    nodes = re.findall(r"(?m)^\s*server (\S+) ([^;]*);", upstream)
    assert len(nodes) >= 2
    for _, params in nodes:
        assert re.search(r"max_fails=\d+", params) and re.search(r"fail_timeout=\d+s", params)


# --- systemd ------------------------------------------------------------------------------------

UNITS = ["slrt-web.service", "slrt-worker@.service", "slrt-scheduler.service", "slrt.target"]


def _units_here(d: Path) -> list[str]:
    """The units with ExecStart pointing at this checkout's `slrt` (verify checks that the
    command exists)."""
    for name in UNITS:
        text = (DEPLOY / "systemd" / name).read_text()
        (d / name).write_text(text.replace("/opt/slrt/venv/bin/slrt", str(SLRT)))
    return [str(d / n.replace("@.", "@1.")) for n in UNITS]


def test_systemd_units_verify_and_are_sandboxed() -> None:
    """systemd-analyze verify parses the units as systemd would (offline, no running systemd
    needed) and prints unknown keys or sections only as warnings, so any output fails here.
    systemd-analyze security --offline scores the sandboxing; 2.0 and below is 'OK'."""
    d = Path(tempfile.mkdtemp(prefix="slrt-units-"))
    try:
        paths = _units_here(d)
        verify = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", *paths], capture_output=True, text=True
        )
        assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr
        services = [p for p in paths if p.endswith(".service")]
        security = subprocess.run(
            ["systemd-analyze", "security", "--offline=yes", "--threshold=20", *services],
            capture_output=True,
            text=True,
        )
        assert security.returncode == 0, security.stdout[-3000:]
        assert security.stdout.count("OK") >= len(services)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _unit(name: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("slrt-web.service", "serve"),
        ("slrt-worker@.service", "worker"),
        ("slrt-scheduler.service", "scheduler"),
    ],
)
def test_systemd_service_contract(name: str, command: str) -> None:
    unit = _unit(name)
    assert unit["ExecStart"] == [f"/opt/slrt/venv/bin/slrt {command}"]
    assert unit["User"] == ["slrt"] and unit["Group"] == ["slrt"]
    assert unit["EnvironmentFile"][0] == "/etc/slrt/slrt.env"
    assert unit["Restart"] == ["on-failure"] and unit["RestartSec"]
    assert unit["StartLimitBurst"] and unit["StartLimitIntervalSec"]
    for key, value in {
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/slrt",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert unit[key] == [value], key
    assert unit["PartOf"] == ["slrt.target"] and unit["WantedBy"] == ["slrt.target"]
    target = _unit("slrt.target")
    assert name.replace("@.", "@1.") in target["Wants"][0].split()


def test_env_examples_name_only_documented_settings() -> None:
    documented = readme_settings()
    for name in ("slrt.env.example", "scheduler.env.example"):
        names = env_names((DEPLOY / "systemd" / name).read_text())
        assert names and names <= set(documented), names - set(documented)
    names = env_names((DEPLOY / "systemd" / "slrt.env.example").read_text())
    # Several nodes must share these, or sessions and hashes differ from node to node.
    assert {"SLRT_SECRET_KEY", "SLRT_NIK_HASH_KEY", "SLRT_FIELD_KEY"} <= names
    assert {"DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL", "SLRT_PUBLIC_URL"} <= names


# --- the Debian install script ------------------------------------------------------------------


def test_install_script_parses_and_passes_shellcheck() -> None:
    script = DEPLOY / "debian" / "install.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck not installed (make test installs it)")
    result = subprocess.run(
        ["shellcheck", "-S", "info", str(script)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
    text = script.read_text()
    # The steps an operator relies on, in their order.
    order = [
        'slrt" db create-roles',
        "/etc/pgbouncer/userlist.txt",
        "db upgrade",
        "systemctl restart slrt.target",
        "/etc/nginx/sites-available/slrt",
        "certbot certonly --webroot",
    ]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions)
    for used in ("systemd/slrt-web.service", "nginx/slrt.conf", "pgbouncer/pgbouncer.ini"):
        assert (DEPLOY / used).exists()


# --- Kubernetes ---------------------------------------------------------------------------------

K8S = DEPLOY / "kubernetes"
K8S_VERSION = "1.30.0"


def k8s_documents() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path.name, doc))
    return docs


def test_kubernetes_manifests_validate_against_the_schemas() -> None:
    """Strict: an unknown or misplaced field fails, as `kubectl apply` would refuse it. The
    schemas ship inside kubernetes-validate, so this runs without a network."""
    import kubernetes_validate

    docs = k8s_documents()
    kinds = {doc["kind"] for _, doc in docs}
    assert {"Deployment", "Job", "Service", "Ingress", "PodDisruptionBudget"} <= kinds
    assert {"HorizontalPodAutoscaler", "ConfigMap", "Secret", "Namespace"} <= kinds
    for name, doc in docs:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(f"{name}: {doc['kind']} {doc['metadata']['name']}: {exc}") from exc


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    # The real Secret is made from the template and never committed.
    assert "secret.yaml" in listed and (K8S / "secret.example.yaml").exists()
    assert "secret.yaml" in (K8S / ".gitignore").read_text().split()
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed - {"secret.yaml"} <= present
    not_applied = present - listed
    assert not_applied == {"secret.example.yaml", "ingress-nginx-config.example.yaml"}


def _by_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in k8s_documents() if doc["kind"] == kind}


def test_kubernetes_workloads() -> None:
    deployments = _by_kind("Deployment")
    jobs = _by_kind("Job")
    commands = {
        name: d["spec"]["template"]["spec"]["containers"][0]["command"]
        for name, d in {**deployments, **jobs}.items()
    }
    assert commands == {
        "slrt-web": ["slrt", "serve"],
        "slrt-worker": ["slrt", "worker"],
        "slrt-scheduler": ["slrt", "scheduler"],
        "slrt-migrate": ["slrt", "db", "upgrade"],
    }
    assert deployments["slrt-scheduler"]["spec"]["replicas"] == 2
    web = deployments["slrt-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for name in ("slrt-worker", "slrt-scheduler"):
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        probe = " ".join(container["livenessProbe"]["exec"]["command"])
        assert env["SLRT_ALIVE_FILE"] in probe, name  # the probe reads the file the loop touches
        assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"]), name
    documented = set(readme_settings())
    config = _by_kind("ConfigMap")["slrt-config"]["data"]
    secrets = _by_kind("Secret")
    for name, workload in {**deployments, **jobs}.items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            refs = {
                next(iter(src.values()))["name"] for src in container["envFrom"]
            }  # configMapRef / secretRef
            assert refs == {"slrt-config", "slrt-secrets"}, name
            assert {e["name"] for e in container.get("env", [])} <= documented
    assert set(config) <= documented, set(config) - documented
    for secret in secrets.values():
        assert set(secret["stringData"]) <= documented
        assert all("CHANGE-ME" in v for v in secret["stringData"].values())
    # Values that must agree with the nginx site and the app's defaults.
    assert config["SLRT_TRUSTED_PROXIES"] == "1"
    ingress = _by_kind("Ingress")["slrt"]["metadata"]["annotations"]
    assert ingress["nginx.ingress.kubernetes.io/proxy-body-size"] == "21m"
    assert "non_idempotent" not in ingress["nginx.ingress.kubernetes.io/proxy-next-upstream"]


def test_kubernetes_selectors_match() -> None:
    """Services, PodDisruptionBudgets and autoscalers point at workloads that exist."""
    deployments = _by_kind("Deployment")
    labels = {name: d["spec"]["template"]["metadata"]["labels"] for name, d in deployments.items()}
    for name, d in deployments.items():
        assert d["spec"]["selector"]["matchLabels"].items() <= labels[name].items()

    def matches(selector: dict) -> list[str]:
        return [n for n, lab in labels.items() if selector.items() <= lab.items()]

    for service in _by_kind("Service").values():
        assert matches(service["spec"]["selector"]) == ["slrt-web"]
        port = service["spec"]["ports"][0]["targetPort"]
        web = deployments["slrt-web"]["spec"]["template"]["spec"]["containers"][0]
        assert port in {p["name"] for p in web["ports"]}
    pdbs = _by_kind("PodDisruptionBudget")
    assert sorted(
        n for p in pdbs.values() for n in matches(p["spec"]["selector"]["matchLabels"])
    ) == [
        "slrt-scheduler",
        "slrt-web",
        "slrt-worker",
    ]
    for hpa in _by_kind("HorizontalPodAutoscaler").values():
        assert hpa["spec"]["scaleTargetRef"]["name"] in {"slrt-web", "slrt-worker"}
        assert hpa["spec"]["minReplicas"] >= 2
    ingress = _by_kind("Ingress")["slrt"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] in _by_kind("Service")


# --- compose and the image ----------------------------------------------------------------------


def test_compose_is_consistent() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "scheduler", "nginx"} <= set(services)
    # Plus the two environment variables of `slrt db create-roles` (its password options).
    documented = set(readme_settings()) | {"SLRT_OWNER_PASSWORD", "SLRT_APP_PASSWORD"}
    for name in ("migrate", "web", "worker", "scheduler"):
        service = services[name]
        build = service["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).exists()
        assert set(service["environment"]) <= documented, set(service["environment"]) - documented
    assert services["web"]["command"] == ["slrt", "serve"]
    assert services["worker"]["command"] == ["slrt", "worker"]
    assert services["scheduler"]["command"] == ["slrt", "scheduler"]
    assert "slrt db upgrade" in " ".join(services["migrate"]["command"])
    # Files mounted into nginx exist, and its upstream is the web service's port.
    for volume in services["nginx"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (DEPLOY / source).exists(), source
    upstream = (DEPLOY / "compose" / "nginx-upstream.conf").read_text()
    port = services["web"]["environment"]["SLRT_PORT"]
    assert re.findall(r"server (\S+) ", upstream) == [f"web:{port}"]
    assert services["web"]["expose"] == [port]
    # Every ${VAR} compose needs is in the example env file.
    wanted = set(re.findall(r"\$\{(\w+)\}", (DEPLOY / "compose.yaml").read_text()))
    assert wanted <= env_names((DEPLOY / "compose" / "env.example").read_text())


def _pins(path: Path) -> dict[str, str]:
    return dict(re.findall(r"(?m)^([a-z0-9_.-]+)==(\S+) \\", path.read_text()))


def test_image_installs_the_locked_versions() -> None:
    containerfile = (DEPLOY / "Containerfile").read_text()
    assert "--require-hashes --no-deps -r requirements-runtime.lock" in containerfile
    assert re.search(r"(?m)^USER 10001", containerfile)
    runtime, lock = _pins(DEPLOY / "requirements-runtime.lock"), _pins(REPO / "requirements.lock")
    assert runtime and all(lock.get(name) == version for name, version in runtime.items()), {
        n: (v, lock.get(n)) for n, v in runtime.items() if lock.get(n) != v
    }
    for test_tool in ("pytest", "ruff", "playwright", "kubernetes-validate"):
        assert test_tool not in runtime
    for copied in re.findall(r"(?m)^COPY (?!--from)(\S+)", containerfile):
        assert (REPO / copied).exists(), copied

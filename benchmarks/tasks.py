"""`wmpc bench tasks`: DeepMind Control (or Meta-World) tasks against the published curves, in
environment steps.

`--suite dmc` (the default) scores return on six DMC tasks; `--suite metaworld` scores the
success rate on six Meta-World v3 tasks from state (TD-MPC2 ran v2; its curves are beside) and
needs `pip install 'wmpc[metaworld]'`. Every task x seed is one online run of today's defaults to
`--env-steps` environment steps (agent decisions x the action repeat, 2 on both suites),
evaluated every `--eval-every` environment steps over 10 episodes; runs go side by side, one
process each (`--workers`), and resume where they stopped. Report seeds give the headline
numbers; tuning seeds (used to choose defaults) are listed apart. Random actions and the oracle
(the same planner on the true simulator) run in the same command. Writes `tasks.csv` (one row per
evaluation), `tasks.png` and `tasks.md` from whatever the run folders hold; `--report-only`
rebuilds them without running anything.
"""

from __future__ import annotations

import argparse
import csv
import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agent.provenance import commit, machine
from benchmarks import task_report
from benchmarks.launcher import LAUNCHERS, check_launcher, launch, make_launcher, usable_cores
from benchmarks.provenance import ROOT, today, write_csv, write_text
from benchmarks.stats import action_repeat, env_steps
from envs.errors import UserError


@dataclass(frozen=True)
class Task:
    """One benchmark task: what `make_env` gets."""

    env_id: str
    env_kwargs: dict = field(default_factory=dict)


def _metaworld(name: str) -> Task:
    return Task("metaworld:Meta-World/MT1", {"env_name": f"{name}-v3"})


SUITES = {
    "dmc": (task_report.DMC, {
        "cartpole-swingup": Task("dm_control/cartpole-swingup-v0"),
        "reacher-easy": Task("dm_control/reacher-easy-v0"),
        "cup-catch": Task("dm_control/ball_in_cup-catch-v0"),
        "finger-spin": Task("dm_control/finger-spin-v0"),
        "walker-walk": Task("dm_control/walker-walk-v0"),
        "cheetah-run": Task("dm_control/cheetah-run-v0"),
    }),
    "metaworld": (task_report.METAWORLD, {
        f"mw-{name}": _metaworld(name) for name in (
            "reach", "push", "door-open", "drawer-open", "window-open", "button-press-topdown")
    }),
}
"""Suite -> its scoring and its tasks by name (Meta-World names as TD-MPC2's curves)."""
TASKS = {name: task for _, tasks in SUITES.values() for name, task in tasks.items()}
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "tasks"
"""Where the report of today's defaults goes."""
HEADLINE_BUDGETS = (100_000, 200_000)
"""Environment steps the report gives numbers at (those up to `--env-steps`, and it)."""
FIELDS = ["task", "kind", "seed", "env_steps", "decisions", "return", "success", "wall_seconds",
          "commit", "machine", "settings", "role"]
KINDS = ("wmpc", "random", "oracle")


def parse(argv: list[str]) -> argparse.Namespace:
    """The command's flags (budgets in environment steps)."""
    p = argparse.ArgumentParser(prog="wmpc bench tasks", description=__doc__)
    p.add_argument("--suite", default="dmc", choices=list(SUITES),
                   help="dmc (return) or metaworld (success rate)")
    p.add_argument("--tasks", default=None,
                   help="comma-separated task names of the suite [default: all six]")
    p.add_argument("--env-steps", type=int, default=200_000,
                   help="environment steps per run (decisions = this / action repeat)")
    p.add_argument("--eval-every", type=int, default=10_000, help="in environment steps")
    p.add_argument("--report-seeds", default="100,101,102",
                   help="seeds of the headline numbers, never used to choose anything")
    p.add_argument("--tuning-seeds", default="0,1,2", help="seeds used to choose defaults")
    p.add_argument("--seeds", default=None,
                   help="the runs to do now, among report and tuning seeds [default: report]")
    p.add_argument("--workers", type=int, default=None,
                   help="runs at once, one process or job each [default: usable cores for "
                   "local, every job at once for slurm and ray]")
    p.add_argument("--launcher", default="local",
                   help=f"where runs go ({', '.join(LAUNCHERS)}): local processes, SLURM jobs "
                   "(submitit) or Ray tasks")
    p.add_argument("--launcher-option", action="append", default=[], metavar="KEY=VALUE",
                   help="a submitit parameter for --launcher slurm, e.g. slurm_partition=gpu "
                   "(repeatable)")
    p.add_argument("--set", action="append", default=[], dest="sets",
                   metavar="SECTION.FIELD=VALUE",
                   help="a setting over today's defaults for this command's runs (an ablation "
                   "on tuning seeds; give them their own --runs), as `wmpc run --set`; the "
                   "report names every setting a run has apart from the defaults (repeatable)")
    p.add_argument("--random-episodes", type=int, default=10, help="random-action episodes")
    p.add_argument("--oracle-episodes", type=int, default=1, help="0 skips the oracle (slow)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--runs", type=Path, default=None,
                   help="run folders [default: runs/bench_tasks, runs/bench_tasks_quick]")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--anchors", type=Path, default=ROOT.parent / "shared" / "anchors")
    p.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: rebuild CSV, plot and report from the run folders "
                   "(their configurations are not checked; the report lists each run's)")
    args = p.parse_args(argv)
    check_launcher(args.launcher)
    _check_sets(args)
    if args.tasks is None:
        args.tasks = ",".join(SUITES[args.suite][1])
    if args.runs is None:
        args.runs = ROOT / "runs" / ("bench_tasks_quick" if args.quick else "bench_tasks")
    if args.quick:
        args.env_steps, args.eval_every = 120, 60
        args.random_episodes, args.oracle_episodes = 1, min(args.oracle_episodes, 1)
    return args


BENCH_FLAGS = {"run.seed": "--seeds", "run.steps": "--env-steps", "run.eval_every": "--eval-every",
               "run.eval_episodes": "(10, the protocol's)", "run.env_kwargs": "(the task's)"}
"""Settings the command sets itself, which `--set` may not change, and what sets them."""


def _check_sets(args: argparse.Namespace) -> None:
    """UserError for a `--set` of a setting the command sets itself, and for an ablation without
    its own `--runs` and `--out` (its rows must never mix with the defaults' report)."""
    for item in args.sets:
        name = item.partition("=")[0].strip()
        if name in BENCH_FLAGS:
            raise UserError(f"--set {item!r}: {name} is this command's {BENCH_FLAGS[name]}")
    if args.sets and (args.runs is None or args.out == DEFAULT_OUT):
        raise UserError("--set makes an ablation: give it its own --runs and --out folders")


def new_run_configs(env_id: str, seed: int, steps: int, eval_every: int, quick: bool = False,
                    env_kwargs: dict | None = None, sets: tuple[str, ...] = ()):
    """The settings of a new run (`agent.settings.Settings`: run, agent, train, model overrides):
    the defaults, the env family's file and `sets` (`--set` items), as `wmpc run` resolves them,
    with `steps` and `eval_every` in decisions and 10 evaluation episodes (`quick`: tiny seed
    phase, batches and plans, one evaluation episode)."""
    from agent.settings import resolve

    run = {"steps": steps, "seed": seed, "eval_every": eval_every, "eval_episodes": 10,
           "env_kwargs": dict(env_kwargs or {})}
    flags = {"run": run}
    if quick:
        flags = {"run": {**run, "eval_episodes": 1, "seed_steps": 20, "pretrain_updates": 5},
                 "agent": {"num_samples": 32, "iterations": 2}, "train": {"batch_size": 32}}
    return resolve(env_id, sets=list(sets), flags=flags)


def planning_text(agent: dict) -> str:
    """The planning budget of an `agent` config dict (any version of it)."""
    return (f"{agent.get('planner', '?')} {agent.get('num_samples', '?')} samples x "
            f"{agent.get('iterations', '?')} iterations x H{agent.get('horizon', '?')}")


def settings_text(config: dict, departures: list[str] = ()) -> str:
    """Planning budget, run length and evaluations of a run, from its `config.json` dict, and
    the settings it has apart from today's defaults (`departures`, as `departures` lists them)."""
    from agent.runs import threads_text

    run = config.get("run", {})
    envs = f" over {run['num_envs']} envs" if run.get("num_envs", 1) > 1 else ""
    apart = f"; apart from today's defaults: {', '.join(departures)}" if departures else ""
    return (f"{planning_text(config.get('agent', {}))}; {run.get('steps', '?')} decisions{envs}, "
            f"evaluated every {run.get('eval_every', '?')} decisions (episodes: "
            f"{run.get('eval_episodes', '?')}); torch threads {threads_text(config)}{apart}")


@dataclass(frozen=True)
class Job:
    """One process's work: a wmpc run to `steps` decisions in the folder `out`, or `episodes`
    random or oracle episodes whose rows go to the CSV file `out`."""

    kind: str
    task: str
    env_id: str
    out: Path
    env_kwargs: dict = field(default_factory=dict)
    seed: int = 0
    steps: int = 0
    eval_every: int = 0
    episodes: int = 0
    quick: bool = False
    device: str = "cpu"
    sets: tuple[str, ...] = ()


def run_job(job: Job) -> None:
    """Do `job` (in a launcher process, with the torch threads `WMPC_TORCH_THREADS` asks for)."""
    import torch

    from agent.cli import torch_threads

    torch.set_num_threads(torch_threads())
    (_learn if job.kind == "wmpc" else _baseline)(job)


def _learn(job: Job) -> None:
    """The run in `job.out`: resumed from its resume point when it has one (keeping the
    configs it started with; only its length changes), else new from `new_run_configs`."""
    from agent.online import OnlineRun
    from agent.runs import load_config, resumed_configs

    resume = (job.out / "resume.pt").exists()
    if resume:
        cfg, agent_cfg, train_cfg, overrides, _ = resumed_configs(job.out, job.steps)
        saved = load_config(job.out)
    else:
        settings = new_run_configs(job.env_id, job.seed, job.steps, job.eval_every, job.quick,
                                   job.env_kwargs, job.sets)
        cfg, agent_cfg, train_cfg = settings.run, settings.agent, settings.train
        overrides, saved = settings.model, {}
    meta = {"commit": saved.get("commit", commit()),
            "machine": saved.get("machine", machine(job.device))}
    run = OnlineRun(job.out, cfg, agent_cfg, train_cfg, overrides, device=job.device)
    run.run(resume=resume, progress=False, meta=meta)


def _baseline(job: Job) -> None:
    """`job.episodes` episodes of random actions or of the oracle, as rows in `job.out`."""
    from agent.build import RandomAgent, oracle_agent
    from agent.evaluate import run_episodes
    from envs import convention_for, make_env
    from envs.oracle import SimulatorOracle

    envs = [make_env(job.env_id, seed=i, **job.env_kwargs) for i in range(job.episodes)]
    act_dim = envs[0].action_space.shape[0]
    if job.kind == "random":
        policy, settings = RandomAgent(act_dim, 0), "uniform random actions"
    else:
        agent_cfg = new_run_configs(job.env_id, 0, job.steps, job.eval_every, job.quick,
                                    job.env_kwargs, job.sets).agent
        policy = oracle_agent([SimulatorOracle(e) for e in envs], agent_cfg, act_dim, seed=0)
        settings = f"{planning_text(asdict(agent_cfg))} on the true simulator"
    started = time.perf_counter()
    result = run_episodes(envs, policy, seeds=list(range(10_000, 10_000 + job.episodes)),
                          success_at_end=convention_for(job.env_id).success_at_end)
    wall = round(time.perf_counter() - started, 1)
    for env in envs:
        env.close()
    stamp = {"task": job.task, "kind": job.kind, "env_steps": 0, "decisions": 0,
             "wall_seconds": wall, "commit": commit(), "machine": machine(job.device),
             "settings": settings, "role": "report"}
    job.out.parent.mkdir(parents=True, exist_ok=True)
    successes = result.successes or [None] * len(result.returns)
    write_csv(job.out, [{**stamp, "seed": i, "return": r,
                         "success": None if s is None else float(s)}
                        for i, (r, s) in enumerate(zip(result.returns, successes, strict=True))],
              FIELDS)


def _differences(saved: dict, configs: dict) -> list[tuple[str, object, object]]:
    """(SECTION.FIELD, saved value, value of `configs`) for every key of a `config.json` dict
    `saved` that `configs` ({section: dict}) sets otherwise, but the run's `steps` (keys added or
    removed since the run are not compared)."""
    import json

    wanted = json.loads(json.dumps(configs))
    return [(f"{section}.{key}", have[key], value)
            for section, want in wanted.items() for have in [saved.get(section, {})]
            for key, value in sorted(want.items())
            if key in have and have[key] != value and (section, key) != ("run", "steps")]


def check_config(folder: Path, configs: dict) -> None:
    """UserError when the run in `folder` was made with another configuration than `configs`
    ({section: dict} as config.json holds them), as `_differences` compares them."""
    from agent.runs import load_config

    differ = [f"{name}: {have!r} there, {want!r} asked"
              for name, have, want in _differences(load_config(folder), configs)]
    if differ:
        raise UserError(f"{folder} holds a run of another configuration ({'; '.join(differ[:3])}"
                        f"{'; ...' if len(differ) > 3 else ''}): pass another --runs folder")


def _requested(job: Job) -> dict:
    """The config.json sections a new run of `job` would have (the env's sizes left out)."""
    from agent.runs import model_config

    settings = new_run_configs(job.env_id, job.seed, job.steps, job.eval_every, job.quick,
                               job.env_kwargs, job.sets)
    model = model_config(settings.run, obs_dim=1, act_dim=1, overrides=settings.model).to_dict()
    model = {k: v for k, v in model.items() if k not in ("obs_dim", "act_dim")}
    return {"run": asdict(settings.run), "agent": asdict(settings.agent),
            "train": asdict(settings.train), "model": model}


def _seeds(text: str, flag: str) -> list[int]:
    try:
        return sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        raise UserError(f"{flag} takes comma-separated whole numbers, got {text!r}") from None


@dataclass
class Plan:
    """What one invocation covers: tasks, seeds by role, budgets, and the jobs to run."""

    tasks: list[str]
    scoring: task_report.Scoring
    report_seeds: list[int]
    tuning_seeds: list[int]
    budgets: list[int]
    jobs: dict[str, Job]
    quick: bool = False


def plan(args: argparse.Namespace) -> Plan:
    """Check the request (UserError on bad input, before anything is written) and list the
    jobs still to do: random and oracle episodes a task lacks, and runs not yet at their end."""
    from agent.runs import read_evals
    from envs import convention_for, make_env

    tasks = [t for t in args.tasks.split(",") if t]
    scoring, known = SUITES[args.suite]
    unknown = [t for t in tasks if t not in known]
    if unknown or not tasks:
        raise UserError(f"unknown task(s) {', '.join(unknown) or '(none given)'} of --suite "
                        f"{args.suite}; known: {', '.join(known)}")
    report = _seeds(args.report_seeds, "--report-seeds")
    tuning = _seeds(args.tuning_seeds, "--tuning-seeds")
    if set(report) & set(tuning):
        raise UserError(f"seeds {sorted(set(report) & set(tuning))} are both report and tuning "
                        "seeds: a reported seed must never have been used to choose anything")
    seeds = _seeds(args.seeds, "--seeds") if args.seeds else report
    if set(seeds) - set(report) - set(tuning):
        raise UserError(f"--seeds {sorted(set(seeds) - set(report) - set(tuning))} are neither "
                        "report nor tuning seeds (--report-seeds, --tuning-seeds)")
    if args.sets and set(seeds) & set(report) and not args.report_only:
        overlap = sorted(set(seeds) & set(report))
        raise UserError(f"--set runs an ablation, and report seeds {overlap} "
                        "never choose anything: give --seeds of tuning seeds")
    if args.workers is None:
        args.workers = usable_cores() if args.launcher == "local" else 10**6
    if min(args.env_steps, args.eval_every, args.workers) < 1:
        raise UserError("--env-steps, --eval-every and --workers must be positive")
    budgets = sorted({b for b in HEADLINE_BUDGETS if b <= args.env_steps} | {args.env_steps})
    if any(b % args.eval_every for b in budgets):
        raise UserError(f"--eval-every {args.eval_every} does not divide the budgets {budgets}: "
                        "no evaluation would fall on them")
    if args.report_only:
        if not args.runs.is_dir():
            raise UserError(f"runs folder not found: {args.runs}")
        return Plan(tasks, scoring, report, tuning, budgets, {}, args.quick)
    jobs, later = {}, {}
    for task in tasks:
        env_id, env_kwargs = known[task].env_id, known[task].env_kwargs
        make_env(env_id, **env_kwargs).close()  # a missing suite is one line, before any job
        repeat = convention_for(env_id).action_repeat
        if args.env_steps % repeat or args.eval_every % repeat:
            raise UserError(f"{task} repeats each action {repeat} times: --env-steps and "
                            f"--eval-every must be multiples of {repeat}")
        new_run_configs(env_id, 0, args.env_steps // repeat, args.eval_every // repeat,
                        args.quick, env_kwargs, tuple(args.sets))  # a bad --set, before any job
        for kind, episodes, into in (("random", args.random_episodes, jobs),
                                     ("oracle", args.oracle_episodes, later)):
            path = args.runs / "baselines" / f"{task}_{kind}.csv"
            if episodes > 0 and len(_read_rows(path)) < episodes:
                into[f"{task} {kind}"] = Job(kind, task, env_id, path, env_kwargs,
                                             steps=args.env_steps // repeat,
                                             eval_every=args.eval_every // repeat,
                                             episodes=episodes, device=args.device,
                                             quick=args.quick, sets=tuple(args.sets))
        for seed in seeds:
            job = Job("wmpc", task, env_id, args.runs / f"{task}_s{seed}", env_kwargs, seed=seed,
                      steps=args.env_steps // repeat, eval_every=args.eval_every // repeat,
                      quick=args.quick, device=args.device, sets=tuple(args.sets))
            if (job.out / "config.json").exists():
                check_config(job.out, _requested(job))
            if max((r["step"] for r in read_evals(job.out)), default=0) < job.steps:
                jobs[f"{task} s{seed}"] = job
    return Plan(tasks, scoring, report, tuning, budgets, {**jobs, **later}, args.quick)


def run_rows(folder: Path, task: str, seed: int, quick: bool = False) -> list[dict]:
    """One row per evaluation in the run folder so far (a run still going gives what it has),
    stamped with the commit and machine it started on and its settings."""
    from agent.runs import load_config, read_evals

    config = load_config(folder)
    repeat = action_repeat(config["run"])
    stamp = {"task": task, "kind": "wmpc", "seed": seed,
             "commit": config.get("commit", "not recorded"),
             "machine": config.get("machine", "not recorded"),
             "settings": settings_text(config, departures(config, task, quick))}
    return [{**stamp, "env_steps": env_steps(r["step"], repeat), "decisions": r["step"],
             "return": r["mean_return"], "success": r["success_rate"],
             "wall_seconds": float(r["wall_seconds"])}
            for r in read_evals(folder)]


def departures(config: dict, task: str, quick: bool = False) -> list[str]:
    """`SECTION.FIELD=VALUE` for each setting of a run's `config.json` dict apart from what
    today's defaults (`quick`: the smoke test's) give a new run of `task` with the same seed,
    length and evaluations."""
    run = config["run"]
    today = _requested(Job("wmpc", task, run["env_id"], Path(), run.get("env_kwargs", {}),
                           seed=run.get("seed", 0), steps=run.get("steps", 1),
                           eval_every=run.get("eval_every", 1), quick=quick))
    return [f"{name}={have!r}" for name, have, _ in _differences(config, today)]


def _read_rows(path: Path) -> list[dict]:
    """Rows of a tasks CSV with numbers as numbers; none from a file of the old layout (steps
    in decisions, no env_steps column), which this command no longer carries over."""
    if not path.exists():
        return []
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    if rows and "env_steps" not in rows[0]:
        print(f"not carried over: {path} counts decisions (the layout before env_steps)")
        return []
    return [{**r, "seed": int(r["seed"]), "env_steps": int(r["env_steps"]),
             "decisions": int(r["decisions"]), "return": float(r["return"]),
             "success": float(r["success"]) if r.get("success") else None,
             "wall_seconds": float(r["wall_seconds"]) if r["wall_seconds"] else None}
            for r in rows]


def collect(kept: list[dict], runs: Path, p: Plan) -> list[dict]:
    """`kept` (the CSV's rows) with every run folder's and baseline file's rows in `runs` in
    place of its older ones, each wmpc row's role set from its seed, sorted."""
    fresh = []
    for task in p.tasks:
        for seed in sorted(p.report_seeds + p.tuning_seeds):
            if (runs / f"{task}_s{seed}" / "config.json").exists():
                fresh += run_rows(runs / f"{task}_s{seed}", task, seed, p.quick)
        for kind in ("random", "oracle"):
            fresh += _read_rows(runs / "baselines" / f"{task}_{kind}.csv")
    replaced = {_source(r) for r in fresh}
    rows = [r for r in kept if _source(r) not in replaced] + fresh
    for r in rows:
        if r["kind"] == "wmpc":
            r["role"] = "report" if r["seed"] in p.report_seeds else "tuning"
    order = list(TASKS)
    return sorted(rows, key=lambda r: (order.index(r["task"]) if r["task"] in order else 99,
                                       r["task"], KINDS.index(r["kind"]), r["seed"],
                                       r["env_steps"]))


def _source(row: dict) -> tuple:
    """Where a row comes from: its run folder (task, seed) or the task's baseline file."""
    return (row["task"], row["kind"], row["seed"] if row["kind"] == "wmpc" else None)


def _launcher_options(pairs: list[str]) -> dict:
    """`--launcher-option KEY=VALUE` pairs -> {KEY: VALUE} (numbers as numbers)."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"--launcher-option takes KEY=VALUE, got {pair!r}")
        options[key] = _number(value)
    return options


def _number(text: str) -> int | float | str:
    """'4' -> 4, '0.5' or '1e3' -> float, anything else as it is."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main(argv: list[str]) -> None:
    """`wmpc bench tasks [flags]`: check, run what is missing, write CSV, plot and report."""
    args = parse(argv)
    p = plan(args)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "tasks_quick" if args.quick else "tasks"
    kept = _read_rows(args.out / f"{name}.csv")
    header = {"date": today(), "commit": commit(), "machine": machine(args.device),
              "command": "wmpc bench tasks " + shlex.join(argv)}
    failures: dict[str, str] = {}

    def write() -> None:
        rows = collect(kept, args.runs, p)
        write_csv(args.out / f"{name}.csv", rows, FIELDS)
        task_report.plot(rows, args.anchors, p.budgets, p.report_seeds, args.out / f"{name}.png",
                         p.scoring)
        write_text(args.out / f"{name}.md", task_report.markdown(
            rows, args.anchors, p, header, failures, f"{name}.png", p.scoring))

    if p.jobs:
        launcher = make_launcher(args.launcher, args.runs / "submitit",
                                 _launcher_options(args.launcher_option))
        print(f"{len(p.jobs)} jobs, {min(args.workers, len(p.jobs))} at a time on "
              f"{args.launcher}; run folders in {args.runs}")
        failures.update(launch(p.jobs, run_job, args.workers, on_change=write, tick=600,
                               launcher=launcher))
    write()
    print(f"wrote {args.out / name}.csv, .png and .md")
    if failures:
        raise UserError(f"{len(failures)} job(s) failed twice (listed in {name}.md): "
                        + "; ".join(f"{k}: {v}" for k, v in failures.items()))

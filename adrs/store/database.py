"""The population store: any SQLAlchemy URL, SQLite in WAL mode by default.

Every query the search loop makes per iteration is an indexed lookup or a
single-row insert, so its cost does not grow with the number of candidates.
Whole-run scans (`history`, `summary`) are for start-up, resume and reports.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, aliased, sessionmaker

from adrs.errors import UserError
from adrs.store.models import VERSION_TABLE, Candidate, LLMCall, Run, SearchEvent
from adrs.store.records import CandidateRecord, HistoryRow

# built once: a statement object built per call costs more than the query itself
_PARENT_FIELDS = select(Candidate.source, Candidate.score, Candidate.metrics,
                        Candidate.artifacts).where(
    Candidate.id == bindparam("id"))

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def open_store(url: str) -> Store:
    """Connect, bring the schema to the newest migration, and return a Store."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            _adopt_legacy_version_table(conn)
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise UserError(f"cannot open database {_shown(url)}: {exc.orig}; check the --db URL "
                        "and that the server is running and reachable") from None
    return Store(engine)


def _adopt_legacy_version_table(conn) -> None:
    """Archives made before adrs_version kept adrs's revision in alembic_version:
    move it, so optuna can have that table."""
    tables = set(inspect(conn).get_table_names())
    if VERSION_TABLE in tables or "alembic_version" not in tables or "runs" not in tables:
        return
    revision = conn.exec_driver_sql("select version_num from alembic_version").scalar()
    conn.exec_driver_sql(f"create table {VERSION_TABLE} (version_num varchar(32) not null "
                         f"primary key)")
    conn.exec_driver_sql(f"insert into {VERSION_TABLE} values ('{revision}')")
    conn.exec_driver_sql("drop table alembic_version")


def _engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
        engine = create_engine(url, connect_args={"timeout": 30}
                               if parsed.get_backend_name() == "sqlite" else {})
    except NoSuchModuleError:  # a subclass of ArgumentError, so it comes first
        raise UserError(f"unknown database type in {_shown(url)}; "
                        "use sqlite:// or postgresql://") from None
    except ArgumentError:
        raise UserError(f"'{url}' is not a database URL; use e.g. sqlite:///path/adrs.db "
                        "or postgresql://user@host/db") from None
    except ModuleNotFoundError as exc:
        raise UserError(f"the driver for {_shown(url)} is not installed ({exc.name}); "
                        "run: pip install 'adrs[postgres]'") from None
    if engine.dialect.name == "sqlite":
        folder = os.path.dirname(parsed.database or "")
        if folder and not os.path.isdir(folder):
            raise UserError(f"cannot open database {_shown(url)}: the folder {folder} does not "
                            "exist; create it or fix the --db URL")
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers (notebooks) never block the writer
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


class Store:
    """Runs and candidates of one database. Methods return plain or detached objects."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def session(self) -> Session:
        return self._session()

    def close(self) -> None:
        self.engine.dispose()

    # --- runs ---

    def create_run(self, name: str, problem: str, problem_path: str, config: dict,
                   seed: int, iterations: int, judging_seed: int | None = None) -> Run:
        if self.get_run(name) is not None:
            raise UserError(f"run '{name}' already exists in {self.url}; "
                            f"continue it with `adrs resume {name}` or choose another --name")
        run = Run(name=name, problem=problem, problem_path=problem_path, config=config,
                  seed=seed, iterations=iterations, status="running", elapsed_seconds=0.0,
                  judging_seed=judging_seed)
        with self.session() as s, s.begin():
            s.add(run)
        return run

    def get_run(self, name: str) -> Run | None:
        with self.session() as s:
            return s.scalars(select(Run).where(Run.name == name)).first()

    def runs(self) -> list[Run]:
        with self.session() as s:
            return list(s.scalars(select(Run).order_by(Run.id)))

    def update_run(self, run_id: int, **fields) -> None:
        with self.session() as s, s.begin():
            s.execute(update(Run).where(Run.id == run_id).values(**fields))

    # --- candidates: per-iteration operations (indexed) ---

    # Inserts use SQLAlchemy Core: the ORM's unit of work costs more than the insert
    # itself, and these run once per iteration on the controller's thread.

    def add_candidate(self, run_id: int, rec: CandidateRecord) -> int:
        return self._insert(Candidate, run_id=run_id, **rec.__dict__)

    def add_llm_call(self, run_id: int, **fields) -> int:
        return self._insert(LLMCall, run_id=run_id, **fields)

    def _insert(self, table, **values) -> int:
        # values as parameters, not .values(): the compiled statement is then cached
        with self.engine.begin() as conn:
            return conn.execute(insert(table), values).inserted_primary_key[0]

    def add_score_sample(self, candidate_id: int, sample: float) -> float:
        """Fold a fresh score sample into a candidate's running mean; return the mean."""
        with self.session() as s, s.begin():
            row = s.get(Candidate, candidate_id)
            metrics = dict(row.metrics or {})
            n = int(metrics.get("score_samples", 1))
            row.score = (row.score * n + sample) / (n + 1)
            row.metrics = {**metrics, "score_samples": n + 1}
            return row.score

    def get_candidate(self, candidate_id: int) -> Candidate | None:
        with self.session() as s:
            return s.get(Candidate, candidate_id)

    def parent_fields(self, candidate_id: int) -> tuple[str, float, dict, dict | None]:
        """(source, score, metrics, artifacts) of a candidate: what a mutation needs of
        its parent."""
        with self.engine.connect() as conn:
            return tuple(conn.execute(_PARENT_FIELDS, {"id": candidate_id}).one())

    def best(self, run_id: int, n: int = 1) -> list[Candidate]:
        with self.session() as s:
            q = (select(Candidate).where(Candidate.run_id == run_id, Candidate.status == "ok")
                 .order_by(Candidate.score.desc(), Candidate.iteration).limit(n))
            return list(s.scalars(q))

    def forget_failed_initial(self, run_id: int) -> bool:
        """Delete a failed initial program when it is the run's only candidate, so a
        resume evaluates the fixed one. True if it was deleted."""
        with self.engine.begin() as conn:
            count = conn.scalar(select(func.count()).select_from(Candidate)
                                .where(Candidate.run_id == run_id))
            if count != 1:
                return False
            gone = conn.execute(delete(Candidate).where(
                Candidate.run_id == run_id, Candidate.iteration == 0, Candidate.status != "ok"))
            return gone.rowcount == 1

    def initial(self, run_id: int) -> Candidate | None:
        with self.session() as s:
            q = select(Candidate).where(Candidate.run_id == run_id, Candidate.iteration == 0)
            return s.scalars(q).first()

    # --- whole-run reads: start-up, resume and reports only ---

    def history(self, run_id: int) -> list[HistoryRow]:
        """What the loop needs to rebuild its state on resume, in iteration order."""
        with self.session() as s:
            q = (select(Candidate.iteration, Candidate.id, Candidate.status, Candidate.score,
                        Candidate.generation, Candidate.parent_id, Candidate.syntactic_hash,
                        Candidate.functional_hash, Candidate.failure, Candidate.error,
                        Candidate.mutation, LLMCall.model, func.coalesce(LLMCall.cost, 0.0),
                        Candidate.island, Candidate.metrics, func.length(Candidate.source))
                 .outerjoin(LLMCall, LLMCall.id == Candidate.llm_call_id)
                 .where(Candidate.run_id == run_id).order_by(Candidate.iteration))
            return [HistoryRow(*row) for row in s.execute(q)]

    def add_search_events(self, run_id: int, events) -> None:
        """Record changes to the search structures (adrs.search.state.Event)."""
        rows = [dict(run_id=run_id, iteration=e.iteration, kind=e.kind, island=e.island,
                     cell=e.cell, candidate_ids=list(e.candidate_ids), score=e.score)
                for e in events]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(SearchEvent), rows)

    def search_events(self, run_id: int, kind: str | None = None) -> list[SearchEvent]:
        with self.session() as s:
            q = select(SearchEvent).where(SearchEvent.run_id == run_id)
            if kind:
                q = q.where(SearchEvent.kind == kind)
            return list(s.scalars(q.order_by(SearchEvent.iteration, SearchEvent.id)))

    def structure_summary(self, run_id: int) -> dict:
        """Best score born on each island, event counts by kind, occupied grid cells."""
        with self.session() as s:
            ok_score = case((Candidate.status == "ok", Candidate.score))
            islands = dict(s.execute(  # every island with a child, even only duplicates
                select(Candidate.island, func.max(ok_score))
                .where(Candidate.run_id == run_id, Candidate.island.is_not(None))
                .group_by(Candidate.island)).all())
            events = dict(s.execute(
                select(SearchEvent.kind, func.count()).where(SearchEvent.run_id == run_id)
                .group_by(SearchEvent.kind)).all())
            cells = s.scalar(select(func.count(func.distinct(SearchEvent.cell)))
                             .where(SearchEvent.run_id == run_id, SearchEvent.kind == "cell"))
        return {"island_best": {int(k): v for k, v in sorted(islands.items())},
                "migrations": events.get("migration", 0), "resets": events.get("reset", 0),
                "grid_cells": cells or 0}

    def grid(self, run_id: int) -> dict[str, tuple[int, float]]:
        """The MAP-Elites grid now: cell -> (candidate id, score)."""
        return {e.cell: (e.candidate_ids[0], e.score) for e in self.search_events(run_id, "cell")}

    def recorded_calls(self, run_id: int) -> dict[int, LLMCall]:
        """The LLM call behind each iteration of a run (for replay)."""
        with self.session() as s:
            q = (select(Candidate.iteration, LLMCall)
                 .join(LLMCall, LLMCall.id == Candidate.llm_call_id)
                 .where(Candidate.run_id == run_id))
            return {i: call for i, call in s.execute(q)}

    def unclaimed_replies(self, run_id: int) -> dict[int, LLMCall]:
        """Successful LLM replies stored for iterations that have no candidate yet (the
        controller died between the reply and the child's record): paid for, so a resume
        uses them instead of asking again."""
        claimed = select(Candidate.iteration).where(Candidate.run_id == run_id)
        with self.session() as s:
            q = (select(LLMCall).where(LLMCall.run_id == run_id, LLMCall.iteration.is_not(None),
                                       LLMCall.error.is_(None), LLMCall.response.is_not(None),
                                       LLMCall.iteration.not_in(claimed))
                 .order_by(LLMCall.id))
            return {c.iteration: c for c in s.scalars(q)}

    def model_usage(self, run_id: int) -> dict[str, dict]:
        """Per model: calls, failed calls, tokens, cost, mean latency, children that scored."""
        with self.session() as s:
            calls = s.execute(
                select(LLMCall.model, func.count(), func.count(LLMCall.error),
                       func.sum(LLMCall.tokens_in), func.sum(LLMCall.tokens_out),
                       func.sum(LLMCall.cost), func.avg(LLMCall.latency_seconds),
                       func.count(case((LLMCall.usage_estimated, 1))))
                .where(LLMCall.run_id == run_id).group_by(LLMCall.model)).all()
            ok = dict(s.execute(
                select(LLMCall.model, func.count())
                .join(Candidate, Candidate.llm_call_id == LLMCall.id)
                .where(LLMCall.run_id == run_id, Candidate.status == "ok")
                .group_by(LLMCall.model)).all())
        return {m: {"calls": n, "failed_calls": err, "tokens_in": int(tin or 0),
                    "tokens_out": int(tout or 0), "cost": float(cost or 0.0),
                    "mean_latency_seconds": float(lat or 0.0), "ok_children": ok.get(m, 0),
                    "estimated_calls": est}
                for m, n, err, tin, tout, cost, lat, est in calls}

    def summary(self, run_id: int) -> dict:
        """Counts by status, failure reason and duplicate kind; time spent and saved."""
        original = aliased(Candidate)
        with self.session() as s:
            by = s.execute(select(Candidate.status, Candidate.failure, Candidate.duplicate_kind,
                                  func.count(),
                                  func.coalesce(func.sum(Candidate.eval_seconds), 0.0),
                                  func.coalesce(func.sum(Candidate.probe_seconds), 0.0))
                           .where(Candidate.run_id == run_id)
                           .group_by(Candidate.status, Candidate.failure,
                                     Candidate.duplicate_kind)).all()
            saved = s.scalar(
                select(func.coalesce(func.sum(original.eval_seconds - Candidate.eval_seconds),
                                     0.0))
                .select_from(Candidate)
                .join(original, original.id == Candidate.duplicate_of)
                .where(Candidate.run_id == run_id, Candidate.status == "duplicate"))
        status: dict[str, int] = {}
        failures: dict[str, int] = {}
        duplicates: dict[str, int] = {}
        for st, failure, kind, n, _, _ in by:
            status[st] = status.get(st, 0) + n
            if failure and st == "failed":
                failures[failure] = failures.get(failure, 0) + n
            if st == "duplicate":
                duplicates[kind or "syntactic"] = duplicates.get(kind or "syntactic", 0) + n
        return {"candidates": sum(status.values()), "by_status": status,
                "failures": failures, "duplicates": duplicates,
                "eval_seconds": float(sum(row[4] for row in by)),
                "probe_seconds": float(sum(row[5] for row in by)),
                # what each duplicate's original cost, less what the duplicate spent probing
                "eval_seconds_saved": max(0.0, float(saved))}

"""What a run has done so far: the data behind `adrs status` and the end-of-run summary."""

from __future__ import annotations

from adrs.store import Store
from adrs.store.plain import RunRow


def _structures(store: Store, run: RunRow) -> dict:
    """The search structures, with every configured island (None: no success yet)."""
    found = store.structure_summary(run.id)
    islands = int((run.config or {}).get("search", {}).get("islands", 1) or 1)
    best = {i: None for i in range(islands)} | found["island_best"]
    return {**found, "island_best": dict(sorted(best.items()))}


def run_status(store: Store, run: RunRow) -> dict:
    """The numbers behind `adrs status` and the end-of-run summary, as plain data."""
    counts = store.summary(run.id)
    initial = store.initial(run.id)
    best = store.best(run.id, 1)
    rows = store.history(run.id)
    return {
        "run": run.name,
        "problem": run.problem,
        "status": run.status,
        "iterations": sum(r.iteration > 0 for r in rows),  # 0 and below: generation 0
        "target_iterations": run.iterations,
        "candidates": counts["candidates"],
        "by_status": counts["by_status"],
        "failures": counts["failures"],
        "initial_score": initial.score if initial else None,
        "best_score": best[0].score if best else None,
        "best_id": best[0].id if best else None,
        "best_iteration": best[0].iteration if best else None,
        "best_artifacts": dict(best[0].artifacts or {}) if best else {},
        "baselines": run.baselines or {},
        "elapsed_seconds": run.elapsed_seconds,
        "eval_seconds": counts["eval_seconds"],
        "duplicates": counts["duplicates"],
        "probe_seconds": counts["probe_seconds"],
        "eval_seconds_saved": counts["eval_seconds_saved"],
        "models": store.model_usage(run.id),
        "nodes": store.work_per_node(run.id),
        "structures": _structures(store, run),
        "edits": edit_table(rows),
        "prompts": prompt_table(store, run.id, rows, best[0].id if best else None),
        "seed": run.seed,
        "db": store.url,
    }


def format_status(st: dict) -> str:
    """`run_status`'s numbers as the lines `adrs status` prints."""
    def num(x):
        return "n/a" if x is None else f"{x:.4f}"

    rate = st["iterations"] / st["elapsed_seconds"] if st["elapsed_seconds"] else 0.0
    lines = [
        f"run        {st['run']} ({st['problem']}, seed {st['seed']}) - {st['status']}",
        f"progress   {st['iterations']}/{st['target_iterations']} iterations in "
        f"{st['elapsed_seconds']:.1f} s ({rate:.2f} it/s)",
        f"initial    {num(st['initial_score'])}",
        f"best       {num(st['best_score'])} (candidate {st['best_id']}, "
        f"iteration {st['best_iteration']})",
    ]
    for name, text in sorted(st.get("best_artifacts", {}).items()):
        first = text.strip().splitlines()[0][:100] if text.strip() else ""
        lines.append(f"artifact   {name} ({len(text)} chars): {first}")
    if st["baselines"]:
        lines.append("baselines  " + ", ".join(f"{k} {num(v)}"
                                                for k, v in sorted(st["baselines"].items())))
    by = st["by_status"]
    lines.append(f"outcomes   ok {by.get('ok', 0)}, failed {by.get('failed', 0)}, "
                 f"duplicate {by.get('duplicate', 0)}")
    if st["duplicates"]:
        lines.append("hashing    " + ", ".join(f"{k} {v}" for k, v in
                                               sorted(st["duplicates"].items()))
                     + f" duplicates; ~{st['eval_seconds_saved']:.1f} s of evaluation saved, "
                     f"{st['probe_seconds']:.1f} s spent on probes")
    if st["failures"]:
        lines.append("failures   " + ", ".join(
            f"{k} {v}" for k, v in sorted(st["failures"].items(), key=lambda kv: -kv[1])))
    sx = st["structures"]
    if len(sx["island_best"]) > 1 or sx["grid_cells"]:
        grid = f", {sx['grid_cells']} grid cells filled" if sx["grid_cells"] else ""
        lines.append(f"search     {len(sx['island_best'])} islands (best "
                     + ", ".join(num(v) for v in sx["island_best"].values())
                     + f"), {sx['migrations']} migrations, {sx['resets']} resets{grid}")
    pv = st.get("prompts")
    if pv and pv["variants"]:
        top = pv["variants"][0]
        lines.append(
            f"prompts    {len(pv['variants'])} variants ({pv['retired']} retired), "
            f"{pv['notes']} notes in use; best #{top['id']} ({top['author']}, island "
            f"{top['island']}): {top['improved']}/{top['children']} improved"
            + (f" at ${top['cost_per_improvement']:.4f} each" if top["cost_per_improvement"]
               else "")
            + (f"; the best program came from variant #{pv['best_from']}"
               if pv["best_from"] else ""))
    paid = [e for e in st.get("edits", []) if e["children"]]
    if paid:
        lines.append("edits      " + ", ".join(
            f"{e['edit']} {e['improved']}/{e['children']} improved" for e in paid[:8])
            + (f", {len(paid) - 8} more kinds" if len(paid) > 8 else ""))
    for model, u in sorted(st["models"].items()):
        lines.append(f"model      {model}: {u['calls']} calls ({u['failed_calls']} failed), "
                     f"{u['ok_children']} scored children "
                     f"({u['ok_children'] / max(u['calls'], 1):.0%}), {u['tokens_in']:,} "
                     f"tokens in, {u['tokens_out']:,} out, ${u['cost']:.4f}, "
                     f"{u['mean_latency_seconds']:.2f} s mean latency"
                     + (f"; tokens of {u['estimated_calls']} calls estimated from the text "
                        "(the server reported no usable usage)" if u["estimated_calls"] else ""))
    for node, w in st.get("nodes", {}).items():
        lines.append(f"node       {node}: {w['evaluations']} evaluations ({w['failed']} failed),"
                     f" {w['seconds']:.1f} s in sandboxes")
    if st["models"]:
        lines.append(f"llm cost   ${sum(u['cost'] for u in st['models'].values()):.4f} in total")
    lines.append(f"database   {st['db']}")
    return "\n".join(lines)


def edit_table(rows) -> list[dict]:
    """Per offline edit kind: the children it made, how many were valid, duplicates,
    and how many beat their parent; the kinds that paid most first."""
    from adrs.mutate.offline import edit_kinds

    score = {r.id: r.score for r in rows if r.status == "ok"}
    table: dict[str, dict] = {}
    for r in rows:
        for kind in dict.fromkeys(edit_kinds(r.mutation)):
            t = table.setdefault(kind, {"edit": kind, "children": 0, "ok": 0, "duplicate": 0,
                                        "improved": 0})
            t["children"] += 1
            t["ok"] += r.status == "ok"
            t["duplicate"] += r.status == "duplicate"
            parent = score.get(r.parent_id)
            t["improved"] += r.status == "ok" and parent is not None and r.score > parent
    return sorted(table.values(), key=lambda t: (-t["improved"], -t["ok"], t["edit"]))


def prompt_table(store: Store, run_id: int, rows, best_id: int | None) -> dict | None:
    """Evolving prompts: each variant's lineage and children (improved = beat their
    parent), most improving first; the notes in use; the variant behind the best."""
    variants = store.prompt_variants(run_id)
    if not variants:
        return None
    score = {r.id: r.score for r in rows if r.status == "ok"}
    tally = {v.id: {"children": 0, "ok": 0, "improved": 0, "cost": 0.0} for v in variants}
    best_from = None
    for r in rows:
        if r.prompt_variant_id in tally:
            t = tally[r.prompt_variant_id]
            t["children"] += 1
            t["ok"] += r.status == "ok"
            t["cost"] += r.cost
            parent = score.get(r.parent_id)
            t["improved"] += r.status == "ok" and parent is not None and r.score > parent
        if r.id == best_id:
            best_from = r.prompt_variant_id
    table = [{"id": v.id, "island": v.island, "parent_id": v.parent_id, "author": v.author,
              "iteration": v.iteration, "retired_at": v.retired_at,
              "instruction": v.instruction, **tally[v.id],
              "cost_per_improvement": tally[v.id]["cost"] / tally[v.id]["improved"]
              if tally[v.id]["improved"] else None} for v in variants]
    table.sort(key=lambda t: (-t["improved"], -t["ok"], t["id"]))
    notes = [n for n in store.insight_notes(run_id) if n.dropped_at is None]
    return {"variants": table, "retired": sum(v.retired_at is not None for v in variants),
            "notes": len(notes), "best_from": best_from}

"""Islands, migration, resets and the MAP-Elites grid, fed results as the loop reveals them."""

import numpy as np

from adrs.config import SearchConfig
from adrs.search.map_elites import Grid
from adrs.search.state import SearchState
from adrs.store import HistoryRow, Scored


def row(i, score, island=0, parent=None, metrics=None, length=100, status="ok"):
    return HistoryRow(i, i + 1, status, score, 1, parent, f"h{i}", None, island=island,
                      metrics=metrics or {"score": score}, code_length=length)


def ids(pop):
    return {s.id for s in pop.members}


def test_the_initial_program_seeds_every_island_and_children_stay_home():
    state = SearchState(SearchConfig(islands=3, migration_interval=0))
    state.reveal(row(0, 0.0))
    for i in range(1, 7):
        state.reveal(row(i, float(i), island=state.island_for(i), parent=1))
    assert [ids(p) for p in state.islands] == [{1, 4, 7}, {1, 2, 5}, {1, 3, 6}]
    assert state.children == {1: 6}
    assert state.select(4, np.random.default_rng(0))[0].id in {1, 2, 5}  # island 1's own


def test_migration_moves_the_best_along_the_ring():
    state = SearchState(SearchConfig(islands=3, migration_interval=6, migrants=1))
    state.reveal(row(0, 0.0))
    events = []
    for i in range(1, 7):
        events += state.reveal(row(i, float(i), island=state.island_for(i)))
    # bests: island 0 has 7 (iteration 6), island 1 has 5, island 2 has 6; each goes one step on
    assert [e.kind for e in events] == ["migration"] * 3
    assert [(e.island, e.candidate_ids) for e in events] == [(1, (7,)), (2, (5,)), (0, (6,))]
    assert 7 in ids(state.islands[1]) and 5 in ids(state.islands[2]) and 6 in ids(state.islands[0])
    assert 7 not in ids(state.islands[2])  # ring: not to every island


def test_all_topology_sends_to_every_other_island():
    state = SearchState(SearchConfig(islands=3, migration_interval=3, migrants=1,
                                     topology="all"))
    state.reveal(row(0, 0.0))
    for i in range(1, 4):
        state.reveal(row(i, float(i), island=state.island_for(i)))
    assert all(4 in ids(p) for p in state.islands)  # iteration 3's child, the best, is everywhere


def test_reset_replaces_the_weakest_islands_after_stagnation():
    state = SearchState(SearchConfig(islands=4, migration_interval=0, reset_after=5))
    state.reveal(row(0, 0.0))
    for i, score in zip(range(1, 5), [5.0, 1.0, 3.0, 2.0], strict=True):
        state.reveal(row(i, score, island=state.island_for(i)))  # island i%4 gets score
    events = []
    for i in range(5, 7):  # no improvement on 5.0 (iteration 1): a reset at 6
        events += state.reveal(row(i, -1.0, island=state.island_for(i)))
    resets = [e for e in events if e.kind == "reset"]
    # island bests: 0 -> 2.0, 1 -> 5.0, 2 -> 1.0, 3 -> 3.0; the weakest half are 2 and 0
    assert [(e.island, e.candidate_ids) for e in resets] == [(2, (2,)), (0, (4,))]
    assert ids(state.islands[2]) == {2} and ids(state.islands[0]) == {4}
    assert state.last_improvement == resets[0].iteration


def test_a_grid_cell_keeps_only_its_best():
    grid = Grid({"code_length": [64.0, 8192.0], "balance": [0.0, 1.0]}, bins=4)
    cell = grid.cell_of({"balance": 0.6}, 500)
    assert cell == (1, 2) and grid.cell_of({}, 500) is None
    assert grid.cell_of({"balance": 7.0}, 10**6) == (3, 3)  # clamped to the edge
    assert grid.place(Scored(1, 1, 0.5, 0), cell)
    assert not grid.place(Scored(2, 2, 0.4, 0), cell)
    assert not grid.place(Scored(3, 3, 0.5, 0), cell)  # a tie keeps the earlier
    assert grid.place(Scored(4, 4, 0.9, 0), cell) and grid.cells[cell].id == 4


def test_map_elites_reports_cell_changes_and_explores_cells():
    cfg = SearchConfig(map_elites=True, grid_bins=4, explore=1.0,
                       features={"code_length": [64.0, 8192.0], "x": [0.0, 1.0]})
    state = SearchState(cfg)
    events = state.reveal(row(0, 0.0, metrics={"score": 0, "x": 0.1}))
    events += state.reveal(row(1, 1.0, metrics={"score": 1, "x": 0.9}))
    events += state.reveal(row(2, 0.5, metrics={"score": 0.5, "x": 0.95}))  # loses its cell
    assert [(e.kind, e.cell, e.candidate_ids) for e in events] == [
        ("cell", "0,0", (1,)), ("cell", "0,3", (2,))]
    picks = {state.select(i, np.random.default_rng(i))[0].id for i in range(40)}
    assert picks == {1, 2}  # explore draws from cell elites only


STRUCTURED = {"islands": 3, "migration_interval": 6, "migrants": 1, "reset_after": 8,
              "map_elites": True, "grid_bins": 4,
              "features": {"code_length": [40.0, 400.0], "guess": [-5.0, 10.0]}}


def _events(ctx):
    return [(e.kind, e.iteration, e.island, e.cell, e.candidate_ids)
            for e in ctx.store.search_events(ctx.run.id)]


def _structures(search):
    islands = [sorted(s.iteration for s in pop.members) for pop in search.state.islands]
    grid = {cell: s.iteration for cell, s in search.state.grid.cells.items()}
    return islands, grid


def test_a_resumed_run_has_the_same_islands_grid_and_stored_events(tmp_path):
    from conftest import FIXTURES

    from adrs.loop import Search
    from adrs.runs import resume_run, start_run

    target = str(FIXTURES / "target_number")
    archive = tmp_path / "archive"
    straight = start_run(target, name="straight", db=None, archive=archive, config_file=None,
                         overrides={"iterations": 40, "search": STRUCTURED})
    whole = Search(straight, progress=False)
    whole.run()
    part = start_run(target, name="part", db=None, archive=archive, config_file=None,
                     overrides={"iterations": 17, "search": STRUCTURED})
    Search(part, progress=False).run()
    resumed = resume_run("part", db=None, archive=archive, iterations=40)
    again = Search(resumed, progress=False)
    again.run()
    events = _events(straight)
    kinds = {e[0] for e in events}
    assert kinds == {"cell", "migration", "reset"}, kinds  # every structure was exercised
    iters = lambda ctx, ids: [ctx.store.get_candidate(i).iteration for i in ids]  # noqa: E731
    assert [(k, it, isl, cell, iters(straight, ids)) for k, it, isl, cell, ids in events] == \
        [(k, it, isl, cell, iters(resumed, ids)) for k, it, isl, cell, ids in _events(resumed)]
    assert _structures(whole) == _structures(again)
    islands = {r[0] for r in straight.store.engine.connect().exec_driver_sql(
        "select distinct island from candidates where iteration > 0")}
    assert islands == {0, 1, 2}
    assert len(straight.store.grid(straight.run.id)) == len(whole.state.grid.cells)
    from adrs.status import format_status, run_status

    line = next(x for x in format_status(run_status(straight.store, straight.run)).splitlines()
                if x.startswith("search"))
    n_migrations = sum(e[0] == "migration" for e in events)
    assert line.startswith("search     3 islands (best ") and \
        f"{n_migrations} migrations" in line and f"{len(whole.state.grid.cells)} grid cells" in line

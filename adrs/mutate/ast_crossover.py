"""Edits between programs and within one: subtree, statement and function crossover
with a second parent, and inlining or extracting a helper function.

Like adrs.mutate.ast_edits, each changes `tree` in place and returns a note that
starts with its kind, or None.
"""

from __future__ import annotations

import ast
import itertools

from adrs.mutate.ast_edits import Context, Sites, copy, line, pick, put
from adrs.mutate.ast_walk import walk
from adrs.mutate.donors import Fragments, kind_of


def subtree(tree, sites: Sites, ctx: Context, other: Fragments) -> str | None:
    """Replace a subexpression by one of the same kind from the second parent."""
    spot = pick(sites.exprs, ctx.rng)
    if spot is None:
        return None
    node, parent, name, index = spot
    kind = kind_of(node)
    donor = ctx.fitting(other.test if kind == "test" else other.value)
    if donor is None or ast.dump(donor) == ast.dump(node):
        return None
    new = copy(donor)
    put(parent, name, index, new)
    return f"crossover_subtree ({kind}) at line {line(node)}"


def statement(tree, sites: Sites, ctx: Context, other_tree: ast.Module) -> str | None:
    """Copy one statement of the second parent into the same place of this one."""
    theirs = Sites.of(other_tree).blocks
    pairs = list(zip(sites.blocks, theirs, strict=False))
    if not pairs:
        return None
    a, b = pick(pairs, ctx.rng)
    i = int(ctx.rng.integers(min(len(a), len(b))))
    if ast.dump(a[i]) == ast.dump(b[i]):
        return None
    a[i] = copy(b[i])
    return f"crossover_statement at line {line(a[i])}"


def function(tree, sites: Sites, ctx: Context, other: Fragments) -> str | None:
    """Take a whole function from the second parent in place of ours of that name."""
    ours = [(block, i) for block in sites.blocks for i, st in enumerate(block)
            if isinstance(st, ast.FunctionDef) and st.name in other.func]
    spot = pick(ours, ctx.rng)
    if spot is None:
        return None
    block, i = spot
    donor = pick(other.func[block[i].name], ctx.rng)
    if ast.dump(donor) == ast.dump(block[i]):
        return None
    block[i] = copy(donor)
    return f"crossover_function {donor.name}"


def transplant(tree, sites: Sites, ctx: Context) -> str | None:
    """Take a donor's whole top-level function in place of ours of that name, with its
    companions (our other functions the donor also defines) and the imports,
    constants and helpers of the donor they need that this program lacks."""
    ours = {st.name: i for i, st in enumerate(tree.body) if isinstance(st, ast.FunctionDef)}
    fits = []
    for name in sorted(set(ours) & set(ctx.donors.whole)):
        mine = ast.dump(tree.body[ours[name]])
        for w in ctx.donors.whole[name]:
            moved = w.companions(set(ours))
            if w.dump != mine and (need := w.needs(ctx.available, moved.values())) is not None:
                fits.append((w, moved, need))
    chosen = pick(fits, ctx.rng)
    if chosen is None:
        return None
    donor, moved, need = chosen
    for other, f in moved.items():
        tree.body[ours[other]] = copy(f)
    name = donor.func.name
    at = ours[name]
    tree.body[at:at + 1] = [copy(st) for st in need] + [copy(donor.func)]
    also = f" and {', '.join(sorted(moved))}" if moved else ""
    extra = f", with {len(need)} supporting statement(s)" if need else ""
    return f"transplant {name}{also}{extra}"


# --- helpers: inline one, or extract one ---------------------------------------------


def _returns_one_expression(f: ast.FunctionDef) -> ast.expr | None:
    body = [s for s in f.body if not (isinstance(s, ast.Expr)
                                      and isinstance(s.value, ast.Constant))]  # docstring
    simple = not (f.args.vararg or f.args.kwarg or f.args.kwonlyargs or f.args.defaults
                  or f.args.posonlyargs or f.decorator_list)
    if simple and len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value:
        return body[0].value
    return None


class _Substitute(ast.NodeTransformer):
    def __init__(self, values: dict[str, ast.expr]):
        self.values = values

    def visit_Name(self, node: ast.Name):
        return copy(self.values[node.id]) if node.id in self.values else node


def inline(tree, sites: Sites, ctx: Context) -> str | None:
    """Replace a call of a one-expression helper by that expression, its parameters
    bound to the call's arguments."""
    helpers = {f.name: (f, e) for f in sites.funcs if (e := _returns_one_expression(f))}
    spots = [(n, p, name, i) for n, p, name, i in sites.exprs if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id in helpers and not n.keywords
             and len(n.args) == len(helpers[n.func.id][0].args.args)
             and not any(isinstance(a, ast.Starred) for a in n.args)]
    spot = pick(spots, ctx.rng)
    if spot is None:
        return None
    node, parent, name, index = spot
    f, expr = helpers[node.func.id]
    values = {a.arg: v for a, v in zip(f.args.args, node.args, strict=True)}
    new = _Substitute(values).visit(copy(expr))
    put(parent, name, index, new)
    return f"inline {f.name} at line {line(node)}"


def _locals(f: ast.FunctionDef) -> set[str]:
    names = {a.arg for a in f.args.posonlyargs + f.args.args + f.args.kwonlyargs}
    names |= {a.arg for a in (f.args.vararg, f.args.kwarg) if a}
    return names | {n.id for n in walk(f) if isinstance(n, ast.Name)
                    and not isinstance(n.ctx, ast.Load)}


def extract(tree, sites: Sites, ctx: Context) -> str | None:
    """Move a computation of a top-level function into a new helper beside it, its
    local names passed as parameters."""
    tops = [(i, f) for i, f in enumerate(tree.body) if isinstance(f, ast.FunctionDef)]
    top = pick(tops, ctx.rng)
    if top is None:
        return None
    at, f = top
    spots = [s for s in Sites.of(f).exprs if isinstance(s[0], (ast.BinOp, ast.Call, ast.IfExp))]
    spot = pick(spots, ctx.rng)
    if spot is None or _has_scope(spot[0]):
        return None
    node, parent, name, index = spot
    local = _locals(f)
    params = sorted({n.id for n in walk(node) if isinstance(n, ast.Name)} & local)
    taken = {g.name for g in sites.funcs}
    helper = next(f"_{f.name}_part{k}" for k in itertools.count(1)
                  if f"_{f.name}_part{k}" not in taken)
    args = ast.arguments(posonlyargs=[], args=[ast.arg(p) for p in params], vararg=None,
                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    made = ast.FunctionDef(helper, args, [ast.Return(copy(node))], [], None, None)
    if "type_params" in ast.FunctionDef._fields:  # Python 3.12 on
        made.type_params = []
    tree.body.insert(at, ast.fix_missing_locations(ast.copy_location(made, f)))
    new = ast.Call(ast.Name(helper, ast.Load()), [ast.Name(p, ast.Load()) for p in params], [])
    put(parent, name, index, new)
    return f"extract {helper} from {f.name}"


def _has_scope(node: ast.AST) -> bool:
    """Comprehensions and lambdas bind names of their own: not worth untangling."""
    return any(isinstance(n, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                              ast.GeneratorExp, ast.NamedExpr, ast.Await))
               for n in walk(node))

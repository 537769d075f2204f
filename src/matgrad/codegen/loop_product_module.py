"""Array code for the Hessian-vector product of a layer loop at symbolic depth: one function for
every depth k, taking the loop module's arguments and one direction per parameter (a list
`V_W` per layer family), returning {W: [(∇²J V)_W[1], …], …}.

Forward-over-reverse in two sweeps (engine/loop_second_order.py):
    forward:   for j = 1…k: the body's values (A[j], Z[j]) and the forward tangent Ż[j] (the
               body product's ΔZ[j] component, through the tangents it reads: Ȧ[j]);
    epilogue:  its values, ΔZ[k] (first order) and Δ̇Z[k] (its product's Z[k] component);
    backward:  for j = k…1: the body's named adjoints (Δ[j]) and tangents (Ȧ[j]), the
               components of W[j], b[j], then ΔZ[j-1] and Δ̇Z[j-1] for the layer below.
The module is statements (codegen/statements.py) written by the walker of every module;
every expression is emitted by `PythonEmitter` through the loop module's embedding, so a
layer's code is what the flat product's module would hold for it.

Invariants: as the loop module's (depth from the lists, every list and shape checked at entry,
names through `python_name`); Ż[0] is a zero matrix (start values are data).
"""

from __future__ import annotations

import textwrap
from dataclasses import replace

from matgrad.codegen.backend import Backend
from matgrad.codegen.emit import PythonEmitter, emit_statements
from matgrad.codegen.layout import ModuleText
from matgrad.codegen.liveness import names_mentioned
from matgrad.codegen.loop_module import LoopCodegen
from matgrad.codegen.signature import Signature, loop_signature
from matgrad.codegen.statements import Assign, Line, Loop, Release, Statement, Store, When
from matgrad.engine.results import Layers, LoopProduct
from matgrad.errors import CodegenError
from matgrad.front.loops import carried_adjoint
from matgrad.ir import indexing
from matgrad.ir.expr import Expr, Sym
from matgrad.ir.indexing import Index
from matgrad.ir.text import to_text


class LoopProductCodegen(LoopCodegen):
    def __init__(self, product: LoopProduct, backend: Backend, function_name: str,
                 bind: dict[str, str], signature: Signature | None = None) -> None:
        layers = product.layers
        # Every family of the two sweeps is stored in its list.
        super().__init__(layers, backend, function_name, bind, frozenset(),
                         signature=signature or loop_signature(layers, function_name))
        self.product = product

    def module(self) -> ModuleText:
        """The module in its parts (docstring, imports, definitions)."""
        product, layered = self.product, self.layered
        first = product.first.layers
        body, epilogue = product.layers.body, product.layers.epilogue
        var, loop = self.var, layered.loop
        body_gen, epi_gen = self.generator(body), self.generator(epilogue)
        # f″ of a built-in written out before planning, as the flat product's module does.
        body = replace(body, gradients={n: body_gen.lower_second(g)
                                        for n, g in body.gradients.items()},
                       adjoints={n: body_gen.lower_second(a) for n, a in body.adjoints.items()})
        epilogue = replace(epilogue, gradients={n: epi_gen.lower_second(g)
                                                for n, g in epilogue.gradients.items()},
                           adjoints={n: epi_gen.lower_second(a)
                                     for n, a in epilogue.adjoints.items()})
        parts = {"body": body_gen, "epilogue": epi_gen}
        head: list[Statement] = []
        internal = [base for base, family in self.families.items() if not family.is_parameter]
        top = max([loop.stop[1], *(self.families[base].top for base in internal)])
        size = self.index_text(Index(layered.depth_symbol, top))
        head += [Line(f"{self.lists[base]} = [None] * ({size} + 1)") for base in internal]
        for base in layered.start_values:
            start_name = self._start_text(base)
            head.append(Line(f"{self.name_text(layered.initial(base))} = {start_name}"))
            tangent = indexing.make(product.forward[base], Index(None, loop.start - 1))
            head.append(Line(f"{self.name_text(tangent)} = {self.backend.alias}.zeros_like("
                             f"{start_name})"))
        # forward: the body's values, then the forward tangents and what they read
        body_lets = [(name, body.program.definitions[name])
                     for name in first.layered.bindings("body")]
        tangents = {layered.at(product.forward[base], 0): body.gradients[
            carried_adjoint(base, layered)] for base in layered.carried}
        reads = self._adjoints_read(list(tangents.values()))
        body_values = [value for _, value in body_lets]
        forward_roots = [*body_values, *(body.adjoints[n] for n in reads), *tangents.values()]
        body_gen.plan(forward_roots, computed=body_values)
        forward = [*body_lets, *((name, body.adjoints[name]) for name in reads),
                   *tangents.items()]
        last = self.index_text(Index(layered.depth_symbol, loop.stop[1] + 1))
        head.append(Loop(var, str(loop.start), last, 1, (
            *(Assign(self.name_text(name), value, "body", name) for name, value in forward),
            Release())))
        lines = emit_statements(head, parts)
        # the epilogue: its values, its first-order adjoints and ΔZ[k], its tangents and Δ̇Z[k]
        objective = epilogue.program.objective
        epi_defs = [(n, v) for n, v in epilogue.program.definitions.items() if n != objective]
        epi_tangents = list(epilogue.adjoints.items())
        epi_gen.plan([v for _, v in epi_defs] + [v for _, v in epi_tangents]
                     + list(epilogue.gradients.values())
                     + list(first.epilogue.gradients.values()),
                     computed=[v for _, v in epi_defs])
        tail: list[Statement] = [Assign(self.name_text(name), value, "epilogue", name)
                                 for name, value in [*epi_defs, *epi_tangents]]
        allocations: list[str] = []
        grad_lists, results = self.gradient_lists(first.parameters, allocations)
        tail += [Line(line) for line in allocations]
        backward_locals = {base: self.name_text(carried_adjoint(base, layered))
                           for base in layered.carried}
        dot_locals = {base: self.name_text(indexing.make(product.backward[base],
                                                         Index(var, 0)))
                      for base in layered.carried}
        finals = {layered.final(base): base for base in layered.carried}
        for name, gradient in first.epilogue.gradients.items():
            if name in finals:
                tail.append(Assign(backward_locals[finals[name]], gradient, "epilogue"))
        for name, component in epilogue.gradients.items():
            if name in finals:
                tail.append(Assign(dot_locals[finals[name]], component, "epilogue"))
                continue
            tail.append(self.epilogue_store(name, component, epilogue.program.shapes[name],
                                            grad_lists, results))
        lines += emit_statements(tail, parts)
        lines += emit_statements([self._backward_sweep(body_gen, first, grad_lists,
                                                       backward_locals, dot_locals)], parts)
        lines.append(f"return {{{', '.join(results)}}}")
        arguments = list(self.signature.arguments)
        checks = self._checks(arguments)
        used = names_mentioned(lines)
        if "float_type" in used:
            raise CodegenError(f"the {self.backend.name} backend's loop product would convert "
                               "numbers to the arrays' type; use the numpy backend.")
        return self._product_module(arguments, checks + lines)

    def _backward_sweep(self, body_gen: PythonEmitter, first: Layers,
                        grad_lists: dict[str, str], backward_locals: dict[str, str],
                        dot_locals: dict[str, str]) -> Loop:
        """for j = k…1: the body's named values, adjoints and components, then (but at the
        first layer) ΔZ and Δ̇Z for the layer below, both read before either is rebound."""
        layered, body = self.layered, self.product.layers.body
        var, loop = self.var, layered.loop
        carried_inputs = {layered.at(base, -1): base for base in layered.carried}
        lets = set(first.layered.bindings("body"))
        named = [(n, v) for n, v in body.program.definitions.items()
                 if n not in lets and n != body.program.objective]
        components = {n: g for n, g in body.gradients.items()
                      if n not in carried_inputs and n not in
                      {carried_adjoint(base, layered) for base in layered.carried}}
        belows = {base: (first.body.gradients[name], body.gradients[name])
                  for name, base in carried_inputs.items()}
        body_gen.plan([*(v for _, v in named), *body.adjoints.values(), *components.values(),
                       *(value for pair in belows.values() for value in pair)],
                      computed=[v for _, v in named])
        statements: list[Statement] = [
            Assign(self.name_text(name), value, "body", name)
            for name, value in [*named, *body.adjoints.items()]]
        for name, gradient in components.items():
            base, index = indexing.split(name)  # type: ignore[misc]
            target = f"{grad_lists[base]}[{self.index_text(index, self.families[base].lowest)}]"
            statements.append(Store(target, gradient, body.program.shapes[name],
                                    self.name_text(name), "body"))
        for base, (first_order, second) in belows.items():
            # Both reads of ΔZ[j] and Δ̇Z[j] are done before either is rebound.
            below = self.names.claim(f"{backward_locals[base]}_below")
            dot_below = self.names.claim(f"{dot_locals[base]}_below")
            statements.append(When(f"{var} > {loop.start}", (
                Assign(below, first_order, "body"), Assign(dot_below, second, "body"),
                Line(f"{backward_locals[base]} = {below}"),
                Line(f"{dot_locals[base]} = {dot_below}"))))
        # Each layer's stored values, and the iteration's own, go back to the allocator once
        # no later layer reads them.
        internal = [self.lists[base] for base, family in self.families.items()
                    if not family.is_parameter]
        statements.append(Release(frozenset({*backward_locals.values(), *dot_locals.values()}),
                                  tuple(internal), var))
        stop = self.index_text(Index(layered.depth_symbol, loop.stop[1]))
        return Loop(var, stop, str(loop.start - 1), -1, tuple(statements))

    def _adjoints_read(self, roots: list[Expr]) -> list[str]:
        """The body product's tangents the forward tangents read, in the order named; one that
        reads the backward sweep's values is an error, never a wrong forward sweep."""
        adjoints = self.product.layers.body.adjoints
        wanted: set[str] = set()
        stack = list(roots)
        while stack:
            for node in stack.pop().walk():
                if isinstance(node, Sym) and node.name in adjoints and node.name not in wanted:
                    wanted.add(node.name)
                    stack.append(adjoints[node.name])
        backward_names = {carried_adjoint(base, self.layered) for base in self.layered.carried}
        backward_names |= {indexing.make(self.product.backward[base], Index(self.var, 0))
                           for base in self.layered.carried}
        for name in wanted:
            if any(isinstance(node, Sym) and node.name in backward_names
                   for node in adjoints[name].walk()):
                raise CodegenError(f"internal: the forward tangent reads {name}, which needs "
                                   "the backward sweep; write the layers out (--depth k=3).")
        return [name for name in adjoints if name in wanted]

    def _product_module(self, arguments: list[str], body: list[str]) -> ModuleText:
        product = self.product
        objective = product.first.layers.objective
        formulas = [f"    (d2{objective} V)_{name} = {to_text(g, 'ascii')}"
                    for name, g in product.layers.body.gradients.items()
                    if name in product.first.layers.parameters]
        formulas += [f"    (d2{objective} V)_{name} = {to_text(g, 'ascii')}"
                     for name, g in product.layers.epilogue.gradients.items()
                     if name in product.first.layers.parameters]
        directions = ", ".join(dict.fromkeys(
            self.lists.get(indexing.base_of(d)) or self.name_text(d)
            for d in product.directions.values()))
        return self.assemble(
            [f"The Hessian-vector product of {objective} for any depth, generated by matgrad.",
             "", "Forward-over-reverse, derived once for a generic layer:",
             *(wrapped for line in formulas for wrapped in textwrap.wrap(
                 line, 96, initial_indent="    ", subsequent_indent="        ",
                 break_long_words=False, break_on_hyphens=False))],
            [f"Return {{P: (d2{objective} V)_P}} along the directions {directions}; a layer "
             "family's", "arguments, directions and components are lists, one matrix per layer."],
            arguments, body)


def loop_product_source(product: LoopProduct, backend: Backend, name: str,
                        bind: dict[str, str], signature: Signature | None = None) -> str:
    return LoopProductCodegen(product, backend, name, bind, signature).generate()


__all__ = ["LoopProductCodegen", "loop_product_source"]

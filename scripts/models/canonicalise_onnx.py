"""Make the ONNX files written by tf2onnx byte-for-byte reproducible.

tf2onnx 1.16.1 names the constants and nodes it creates while optimising from counters whose order changes from
run to run, and for some graphs it also emits independent branches in a different (equally valid) order. So two
conversions of the same source file compute the same thing but differ byte-wise.

This script only re-labels and re-orders; ops, attributes, weights, graph input and output names are unchanged:
1. every tensor gets a structural key (hash of the op, its attributes and the keys of its inputs; initializers are
   keyed by their bytes), independent of names;
2. nodes are re-ordered by a topological sort that breaks ties by that key;
3. internal tensors are renamed t0, t1, ... and nodes <Op>_<index> in that order; initializers and value_info are
   sorted by the new names; symbolic dimension names become d0, d1, ...
"""
import hashlib
import heapq
import sys

import onnx
from onnx import numpy_helper


def _h(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.digest()


def canonicalise(model: onnx.ModelProto) -> onnx.ModelProto:
    g = model.graph
    for node in g.node:
        for attr in node.attribute:
            if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise SystemExit("subgraphs are not handled")
    keep = [v.name for v in g.input] + [v.name for v in g.output]
    key: dict[str, bytes] = {"": b""}
    for v in g.input:
        key[v.name] = _h(b"input", v.name.encode())
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        key[init.name] = _h(b"init", str(init.data_type).encode(), str(list(init.dims)).encode(), arr.tobytes())

    producers = {}
    for node in g.node:
        for o in node.output:
            producers[o] = node
    node_key: dict[int, bytes] = {}

    def nkey(node: onnx.NodeProto) -> bytes:
        nid = id(node)
        if nid in node_key:
            return node_key[nid]
        ins = []
        for i in node.input:
            if i not in key:
                key[i] = _h(b"out", nkey(producers[i]), str(list(producers[i].output).index(i)).encode())
            ins.append(key[i])
        attrs = b"".join(a.SerializeToString(deterministic=True) for a in sorted(node.attribute, key=lambda a: a.name))
        k = _h(node.op_type.encode(), node.domain.encode(), attrs, *ins)
        node_key[nid] = k
        for idx, o in enumerate(node.output):
            key.setdefault(o, _h(b"out", k, str(idx).encode()))
        return k

    sys.setrecursionlimit(100000)
    for node in g.node:
        nkey(node)

    # Kahn's algorithm, ties broken by structural key
    nodes = list(g.node)
    available = set(key_ for key_ in (v.name for v in g.input)) | {i.name for i in g.initializer} | {""}
    consumers: dict[str, list[int]] = {}
    missing = []
    for idx, node in enumerate(nodes):
        need = {i for i in node.input if i not in available}
        missing.append(len(need))
        for i in need:
            consumers.setdefault(i, []).append(idx)
    heap = [(node_key[id(n)], idx) for idx, n in enumerate(nodes) if missing[idx] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        _, idx = heapq.heappop(heap)
        order.append(nodes[idx])
        for o in nodes[idx].output:
            for c in consumers.pop(o, []):
                missing[c] -= 1
                if missing[c] == 0:
                    heapq.heappush(heap, (node_key[id(nodes[c])], c))
    if len(order) != len(nodes):
        raise SystemExit("graph is not a DAG over its inputs/initializers")

    mapping: dict[str, str] = {}

    def rename(old: str) -> str:
        if old == "" or old in keep:
            return old
        if old not in mapping:
            mapping[old] = f"t{len(mapping)}"
        return mapping[old]

    new_nodes = []
    for idx, node in enumerate(order):
        n = onnx.NodeProto()
        n.CopyFrom(node)
        for k, name in enumerate(n.input):
            n.input[k] = rename(name)
        for k, name in enumerate(n.output):
            n.output[k] = rename(name)
        n.name = f"{n.op_type}_{idx}"
        new_nodes.append(n)
    del g.node[:]
    g.node.extend(new_nodes)

    unused = [i.name for i in g.initializer if i.name not in mapping and i.name not in keep]
    if unused:
        raise SystemExit(f"{len(unused)} initializers are not used by any node")
    for init in g.initializer:
        init.name = mapping.get(init.name, init.name)
    for vi in g.value_info:
        vi.name = mapping.get(vi.name, vi.name)

    def order_key(t):
        return int(t.name[1:]) if t.name.startswith("t") and t.name[1:].isdigit() else -1

    for field in (g.initializer, g.value_info):
        items = sorted(field, key=order_key)
        copies = []
        for it in items:
            c = type(it)()
            c.CopyFrom(it)
            copies.append(c)
        del field[:]
        field.extend(copies)

    dims: dict[str, str] = {}
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        for d in vi.type.tensor_type.shape.dim:
            if d.dim_param:
                d.dim_param = dims.setdefault(d.dim_param, f"d{len(dims)}")
    return model


def main(paths: list[str]) -> int:
    for p in paths:
        m = onnx.load(p)
        canonicalise(m)
        onnx.checker.check_model(m)
        onnx.save(m, p)
        print(f"canonicalised {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

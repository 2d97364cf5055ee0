// The flow view (data-lmr-component="flow"): draws the routes in a figure's JSON block as SVG, walks them again when
// the threshold moves, and explains a clicked node or edge. The walk is the one lmreport/analyses/flow.py's routes()
// does, so the page and the prose's numbers agree. Tokens come from the JSON block and are set as text, never as
// markup.
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const COL = 66;
  const ROW = 16;
  const LEFT = 44;
  const TOP = 12;
  const BOTTOM = 44;

  function make(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach((key) => node.setAttribute(key, attrs[key]));
    if (parent) {
      parent.appendChild(node);
    }
    return node;
  }

  function pct(share) {
    return `${(100 * share).toFixed(share < 0.1 ? 1 : 0)}%`;
  }

  // Node ids: x<pos> the embeddings (layer 0); a<n>_<pos>, m<n>_<pos>, r<n>_<pos> block n's residual stream after
  // attention, its MLP and the stream after the block, blocks counted from 1 as on every page.
  function below(layer, pos) {
    return layer === 1 ? `x${pos}` : `r${layer - 1}_${pos}`;
  }

  function parse(id) {
    const kind = id.charAt(0);
    if (kind === "x") {
      return { kind, layer: 0, pos: Number(id.slice(1)) };
    }
    const parts = id.slice(1).split("_");
    return { kind, layer: Number(parts[0]), pos: Number(parts[1]) };
  }

  // Every node's incoming edges: attention edges from the JSON, then the MLP's and the one past it.
  function incomingEdges(data) {
    const incoming = {};
    data.edges.forEach((e) => {
      const to = `a${e[0]}_${e[2]}`;
      (incoming[to] = incoming[to] || []).push({ from: below(e[0], e[1]), to, share: e[3], kind: "attention", row: e });
    });
    data.ffn.forEach((row, index) => {
      const layer = index + 1;
      row.forEach((share, pos) => {
        const a = `a${layer}_${pos}`;
        const m = `m${layer}_${pos}`;
        const r = `r${layer}_${pos}`;
        incoming[m] = [{ from: a, to: m, share, kind: "mlp", layer, pos }];
        incoming[r] = [{ from: m, to: r, share, kind: "mlp", layer, pos },
                       { from: a, to: r, share: 1 - share, kind: "past", layer, pos }];
      });
    });
    return incoming;
  }

  function walk(incoming, output, threshold) {
    const seen = { [output]: true };
    const edges = [];
    const stack = [output];
    while (stack.length) {
      const node = stack.pop();
      (incoming[node] || []).forEach((edge) => {
        if (edge.share > threshold) {
          edges.push(edge);
          if (!seen[edge.from]) {
            seen[edge.from] = true;
            stack.push(edge.from);
          }
        }
      });
    }
    return { nodes: Object.keys(seen), edges };
  }

  function place(data, id) {
    const n = parse(id);
    const rows = 2 * data.layers;
    const row = n.kind === "x" ? 0 : (n.kind === "r" ? 2 * n.layer : 2 * n.layer - 1);
    const x = LEFT + COL * n.pos + COL / 2;
    const y = TOP + (rows - row) * ROW;
    if (n.kind === "m") {
      return { x: x + COL * 0.32, y: y - ROW / 2 };
    }
    return { x, y };
  }

  function tokenText(data, pos) {
    return `token ${pos} \u201c${data.tokens[pos]}\u201d`;
  }

  function words(data, indices) {
    return indices.map((i) => `\u201c${data.vocab[i]}\u201d`).join(", ");
  }

  function describeNode(data, id) {
    const n = parse(id);
    const info = data.nodes[id] || {};
    const lines = [];
    let title;
    if (n.kind === "x") {
      title = `The embedding of ${tokenText(data, n.pos)}: where its routes start.`;
    } else if (n.kind === "a") {
      title = `Layer ${n.layer}, ${tokenText(data, n.pos)}: the residual stream after attention.`;
      lines.push(`The incoming residual stream: ${pct(info.residual)} of this sum.`);
      (info.heads || []).forEach((h) => {
        lines.push(`Head ${h[0]}: ${pct(h[1])} (over the tokens it read); promotes ${words(data, h[2])}; ` +
          `suppresses ${words(data, h[3])}.`);
      });
    } else if (n.kind === "m") {
      title = `Layer ${n.layer}, ${tokenText(data, n.pos)}: the MLP, ${pct(data.ffn[n.layer - 1][n.pos])} of the ` +
        "residual stream after the block.";
      lines.push(`This sum split by neuron: the incoming residual stream has ${pct(info.residual)} of it, and the ` +
        "neurons with the largest shares are:");
      (info.neurons || []).forEach((m) => {
        lines.push(`Neuron ${m[0]} (activation ${m[2]}): ${pct(m[1])}; promotes ${words(data, m[3])}; ` +
          `suppresses ${words(data, m[4])}.`);
      });
    } else {
      const share = data.ffn[n.layer - 1][n.pos];
      title = `Layer ${n.layer}, ${tokenText(data, n.pos)}: the residual stream after the block` +
        `${id === data.output ? " (the output the routes lead to)" : ""}.`;
      lines.push(`From the MLP: ${pct(share)}; carried past it: ${pct(1 - share)}.`);
    }
    return { title, lines };
  }

  function describeEdge(data, edge) {
    const lines = [];
    let title;
    if (edge.kind === "attention") {
      const [layer, from, to, share, heads, residual] = edge.row;
      title = `Layer ${layer}: ${tokenText(data, to)} reads ${from === to ? "itself" : tokenText(data, from)}, ` +
        `${pct(share)} of the residual stream after attention there.`;
      if (residual !== null && residual !== undefined) {
        lines.push(`Of that, the incoming residual stream: ${pct(residual)}.`);
      }
      heads.forEach((h) => lines.push(`Head ${h[0]}: ${pct(h[1])}.`));
    } else if (edge.kind === "mlp") {
      title = `Layer ${edge.layer}, ${tokenText(data, edge.pos)}: through the MLP, ${pct(edge.share)} of the ` +
        "residual stream after the block.";
    } else {
      title = `Layer ${edge.layer}, ${tokenText(data, edge.pos)}: past the MLP, ${pct(edge.share)} of the ` +
        "residual stream after the block.";
    }
    return { title, lines };
  }

  function showDetails(view, text) {
    const box = view.querySelector(".flow-details");
    box.textContent = "";
    const p = document.createElement("p");
    p.className = "flow-details-title";
    p.textContent = text.title;
    box.appendChild(p);
    if (text.lines.length) {
      const list = document.createElement("ul");
      text.lines.forEach((line) => {
        const item = document.createElement("li");
        item.textContent = line;
        list.appendChild(item);
      });
      box.appendChild(list);
    }
  }

  function clickable(view, node, label, describe) {
    node.setAttribute("tabindex", "0");
    node.setAttribute("role", "button");
    node.setAttribute("aria-label", label);
    make("title", {}, node).textContent = label;
    function pick() {
      view.querySelectorAll(".flow-selected").forEach((other) => other.classList.remove("flow-selected"));
      node.classList.add("flow-selected");
      showDetails(view, describe());
    }
    node.addEventListener("click", pick);
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        pick();
      }
    });
  }

  function edgeClass(edge) {
    if (edge.kind === "attention") {
      const [, from, to, , , residual] = edge.row;
      return from === to && residual > edge.share / 2 ? "flow-res" : "flow-attn";
    }
    return edge.kind === "mlp" ? "flow-mlp" : "flow-res";
  }

  function nodeShape(at, kind, parent) {
    if (kind === "m") {
      return make("rect", { x: at.x - 4, y: at.y - 4, width: 8, height: 8,
                            transform: `rotate(45 ${at.x} ${at.y})` }, parent);
    }
    if (kind === "r") {
      return make("rect", { x: at.x - 4.5, y: at.y - 4.5, width: 9, height: 9 }, parent);
    }
    return make("circle", { cx: at.x, cy: at.y, r: kind === "x" ? 6 : 4.5 }, parent);
  }

  function draw(view, data, incoming, threshold) {
    const svg = view.querySelector(".flow-graph");
    const columns = data.position + 1;
    const rows = 2 * data.layers;
    const width = LEFT + COL * columns + 12;
    const height = TOP + rows * ROW + BOTTOM;
    svg.textContent = "";
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    // Scaled down to the figure's width on a narrow screen, but never below a readable size (then it scrolls).
    svg.style.width = "100%";
    svg.style.maxWidth = `${width}px`;
    svg.style.minWidth = `${Math.round(width * 0.6)}px`;
    svg.style.height = "auto";
    const grid = make("g", { class: "flow-grid" }, svg);
    for (let layer = 1; layer <= data.layers; layer++) {
      const y = place(data, `r${layer}_0`).y;
      make("text", { x: 4, y: y + 4, class: "flow-layer" }, grid).textContent = `L${layer}`;
      for (let pos = 0; pos < columns; pos++) {
        ["a", "r"].forEach((kind) => {
          const at = place(data, `${kind}${layer}_${pos}`);
          make("circle", { cx: at.x, cy: at.y, r: 1.6 }, grid);
        });
      }
    }
    make("text", { x: 4, y: TOP + rows * ROW + 4, class: "flow-layer" }, grid).textContent = "emb";
    for (let pos = 0; pos < columns; pos++) {
      const token = data.tokens[pos];
      const at = { x: LEFT + COL * pos + COL / 2, y: TOP + rows * ROW + 24 };
      const label = make("text", { x: at.x, y: at.y, class: "flow-token" }, grid);
      label.textContent = token.length > 9 ? `${token.slice(0, 8)}\u2026` : token;
      make("title", {}, label).textContent = tokenText(data, pos);
    }
    const routes = walk(incoming, data.output, threshold);
    const edges = make("g", { class: "flow-edges" }, svg);
    routes.edges.forEach((edge) => {
      const a = place(data, edge.from);
      const b = place(data, edge.to);
      const line = make("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: `flow-edge ${edgeClass(edge)}`,
                                  "stroke-width": (0.8 + 7 * edge.share).toFixed(2) }, edges);
      clickable(view, line, describeEdge(data, edge).title, () => describeEdge(data, edge));
    });
    const nodes = make("g", { class: "flow-nodes" }, svg);
    routes.nodes.forEach((id) => {
      const kind = id.charAt(0);
      const shape = nodeShape(place(data, id), kind, nodes);
      shape.setAttribute("class", `flow-node flow-node-${kind}${id === data.output ? " flow-output" : ""}`);
      shape.setAttribute("data-node", id);
      clickable(view, shape, describeNode(data, id).title, () => describeNode(data, id));
    });
    const count = view.querySelector(".flow-count");
    count.textContent = `${routes.nodes.length} nodes and ${routes.edges.length} edges on the routes`;
    count.setAttribute("data-nodes", routes.nodes.length);
    count.setAttribute("data-edges", routes.edges.length);
  }

  window.lmreport.mount("flow", (view, data) => {
    if (!data) {
      return;
    }
    const incoming = incomingEdges(data);
    const slider = view.querySelector(".flow-threshold");
    const shown = view.querySelector(".flow-threshold-value");
    function update() {
      const threshold = Number(slider.value);
      shown.textContent = threshold.toFixed(3);
      draw(view, data, incoming, threshold);
    }
    slider.addEventListener("input", update);
    update();
  });
})();

// The flow view: draws the routes in a figure's JSON block as SVG, walks them again when the threshold moves, and
// explains a clicked node or edge. The walk is the one lmreport/analyses/flow.py's routes() does, so the page and
// the prose's numbers agree. Tokens come from the JSON block and are set as text, never as markup.
(function () {
  var SVG = "http://www.w3.org/2000/svg";
  var COL = 66, ROW = 16, LEFT = 44, TOP = 12, BOTTOM = 44;

  function make(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function pct(share) { return (100 * share).toFixed(share < 0.1 ? 1 : 0) + "%"; }
  // Node ids: x<pos> the embeddings (layer 0); a<n>_<pos>, m<n>_<pos>, r<n>_<pos> block n's residual stream after
  // attention, its MLP and the stream after the block, blocks counted from 1 as on every page.
  function below(layer, pos) { return layer === 1 ? "x" + pos : "r" + (layer - 1) + "_" + pos; }
  function parse(id) {
    var kind = id.charAt(0);
    if (kind === "x") { return { kind: kind, layer: 0, pos: Number(id.slice(1)) }; }
    var parts = id.slice(1).split("_");
    return { kind: kind, layer: Number(parts[0]), pos: Number(parts[1]) };
  }

  // Every node's incoming edges: attention edges from the JSON, then the MLP's and the one past it.
  function incomingEdges(data) {
    var incoming = {};
    data.edges.forEach(function (e) {
      var to = "a" + e[0] + "_" + e[2];
      (incoming[to] = incoming[to] || []).push({ from: below(e[0], e[1]), to: to, share: e[3], kind: "attention", row: e });
    });
    data.ffn.forEach(function (row, index) {
      var layer = index + 1;
      row.forEach(function (share, pos) {
        var a = "a" + layer + "_" + pos, m = "m" + layer + "_" + pos, r = "r" + layer + "_" + pos;
        incoming[m] = [{ from: a, to: m, share: share, kind: "mlp", layer: layer, pos: pos }];
        incoming[r] = [{ from: m, to: r, share: share, kind: "mlp", layer: layer, pos: pos },
                       { from: a, to: r, share: 1 - share, kind: "past", layer: layer, pos: pos }];
      });
    });
    return incoming;
  }

  function walk(incoming, output, threshold) {
    var seen = {}, edges = [], stack = [output];
    seen[output] = true;
    while (stack.length) {
      var node = stack.pop();
      (incoming[node] || []).forEach(function (edge) {
        if (edge.share > threshold) {
          edges.push(edge);
          if (!seen[edge.from]) { seen[edge.from] = true; stack.push(edge.from); }
        }
      });
    }
    return { nodes: Object.keys(seen), edges: edges };
  }

  function place(data, id) {
    var n = parse(id), rows = 2 * data.layers;
    var row = n.kind === "x" ? 0 : (n.kind === "r" ? 2 * n.layer : 2 * n.layer - 1);
    var x = LEFT + COL * n.pos + COL / 2, y = TOP + (rows - row) * ROW;
    if (n.kind === "m") { return { x: x + COL * 0.32, y: y - ROW / 2 }; }
    return { x: x, y: y };
  }

  function tokenText(data, pos) { return "token " + pos + " \u201c" + data.tokens[pos] + "\u201d"; }

  function describeNode(data, id) {
    var n = parse(id), info = data.nodes[id] || {}, lines = [], title;
    if (n.kind === "x") {
      title = "The embedding of " + tokenText(data, n.pos) + ": where its routes start.";
    } else if (n.kind === "a") {
      title = "Layer " + n.layer + ", " + tokenText(data, n.pos) + ": the residual stream after attention.";
      lines.push("The incoming residual stream: " + pct(info.residual) + " of this sum.");
      (info.heads || []).forEach(function (h) {
        lines.push("Head " + h[0] + ": " + pct(h[1]) + " (over the tokens it read); promotes " +
          words(data, h[2]) + "; suppresses " + words(data, h[3]) + ".");
      });
    } else if (n.kind === "m") {
      title = "Layer " + n.layer + ", " + tokenText(data, n.pos) + ": the MLP, " +
        pct(data.ffn[n.layer - 1][n.pos]) + " of the residual stream after the block.";
      lines.push("This sum split by neuron: the incoming residual stream has " + pct(info.residual) + " of it, and " +
        "the neurons with the largest shares are:");
      (info.neurons || []).forEach(function (m) {
        lines.push("Neuron " + m[0] + " (activation " + m[2] + "): " + pct(m[1]) + "; promotes " + words(data, m[3]) +
          "; suppresses " + words(data, m[4]) + ".");
      });
    } else {
      var share = data.ffn[n.layer - 1][n.pos];
      title = "Layer " + n.layer + ", " + tokenText(data, n.pos) + ": the residual stream after the block" +
        (id === data.output ? " (the output the routes lead to)" : "") + ".";
      lines.push("From the MLP: " + pct(share) + "; carried past it: " + pct(1 - share) + ".");
    }
    return { title: title, lines: lines };
  }

  function words(data, indices) {
    return indices.map(function (i) { return "\u201c" + data.vocab[i] + "\u201d"; }).join(", ");
  }

  function describeEdge(data, edge) {
    var lines = [], title;
    if (edge.kind === "attention") {
      var e = edge.row, layer = e[0], from = e[1], to = e[2];
      title = "Layer " + layer + ": " + tokenText(data, to) + " reads " + (from === to ? "itself" : tokenText(data, from)) +
        ", " + pct(e[3]) + " of the residual stream after attention there.";
      if (e[5] !== null && e[5] !== undefined) { lines.push("Of that, the incoming residual stream: " + pct(e[5]) + "."); }
      e[4].forEach(function (h) { lines.push("Head " + h[0] + ": " + pct(h[1]) + "."); });
    } else if (edge.kind === "mlp") {
      title = "Layer " + edge.layer + ", " + tokenText(data, edge.pos) + ": through the MLP, " + pct(edge.share) +
        " of the residual stream after the block.";
    } else {
      title = "Layer " + edge.layer + ", " + tokenText(data, edge.pos) + ": past the MLP, " + pct(edge.share) +
        " of the residual stream after the block.";
    }
    return { title: title, lines: lines };
  }

  function show(figure, text) {
    var box = figure.querySelector(".flow-details");
    box.textContent = "";
    var p = document.createElement("p");
    p.className = "flow-details-title";
    p.textContent = text.title;
    box.appendChild(p);
    if (text.lines.length) {
      var list = document.createElement("ul");
      text.lines.forEach(function (line) {
        var item = document.createElement("li");
        item.textContent = line;
        list.appendChild(item);
      });
      box.appendChild(list);
    }
  }

  function clickable(figure, node, label, describe) {
    node.setAttribute("tabindex", "0");
    node.setAttribute("role", "button");
    node.setAttribute("aria-label", label);
    make("title", {}, node).textContent = label;
    function pick() {
      figure.querySelectorAll(".flow-selected").forEach(function (n) { n.classList.remove("flow-selected"); });
      node.classList.add("flow-selected");
      show(figure, describe());
    }
    node.addEventListener("click", pick);
    node.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); pick(); }
    });
  }

  function draw(figure, data, incoming, threshold) {
    var svg = figure.querySelector(".flow-graph");
    var columns = data.position + 1, rows = 2 * data.layers;
    var width = LEFT + COL * columns + 12, height = TOP + rows * ROW + BOTTOM;
    svg.textContent = "";
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    // Scaled down to the figure's width on a narrow screen, but never below a readable size (then it scrolls).
    svg.style.width = "100%";
    svg.style.maxWidth = width + "px";
    svg.style.minWidth = Math.round(width * 0.6) + "px";
    svg.style.height = "auto";
    var grid = make("g", { "class": "flow-grid" }, svg);
    for (var layer = 1; layer <= data.layers; layer++) {
      var y = place(data, "r" + layer + "_0").y;
      make("text", { x: 4, y: y + 4, "class": "flow-layer" }, grid).textContent = "L" + layer;
      for (var pos = 0; pos < columns; pos++) {
        ["a", "r"].forEach(function (kind) {
          var p = place(data, kind + layer + "_" + pos);
          make("circle", { cx: p.x, cy: p.y, r: 1.6 }, grid);
        });
      }
    }
    make("text", { x: 4, y: TOP + rows * ROW + 4, "class": "flow-layer" }, grid).textContent = "emb";
    for (var p = 0; p < columns; p++) {
      var label = make("text", { x: LEFT + COL * p + COL / 2, y: TOP + rows * ROW + 24, "class": "flow-token" }, grid);
      label.textContent = data.tokens[p].length > 9 ? data.tokens[p].slice(0, 8) + "\u2026" : data.tokens[p];
      make("title", {}, label).textContent = tokenText(data, p);
    }
    var routes = walk(incoming, data.output, threshold);
    var edges = make("g", { "class": "flow-edges" }, svg);
    routes.edges.forEach(function (edge) {
      var a = place(data, edge.from), b = place(data, edge.to);
      var kind = edge.kind === "attention" ? (edge.row[1] === edge.row[2] && edge.row[5] > edge.share / 2 ? "flow-res" : "flow-attn")
        : (edge.kind === "mlp" ? "flow-mlp" : "flow-res");
      var line = make("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, "class": "flow-edge " + kind,
                                "stroke-width": (0.8 + 7 * edge.share).toFixed(2) }, edges);
      var text = describeEdge(data, edge);
      clickable(figure, line, text.title, function () { return describeEdge(data, edge); });
    });
    var nodes = make("g", { "class": "flow-nodes" }, svg);
    routes.nodes.forEach(function (id) {
      var at = place(data, id), kind = id.charAt(0), shape;
      if (kind === "m") {
        shape = make("rect", { x: at.x - 4, y: at.y - 4, width: 8, height: 8, transform: "rotate(45 " + at.x + " " + at.y + ")" }, nodes);
      } else if (kind === "r") {
        shape = make("rect", { x: at.x - 4.5, y: at.y - 4.5, width: 9, height: 9 }, nodes);
      } else {
        shape = make("circle", { cx: at.x, cy: at.y, r: kind === "x" ? 6 : 4.5 }, nodes);
      }
      shape.setAttribute("class", "flow-node flow-node-" + kind + (id === data.output ? " flow-output" : ""));
      shape.setAttribute("data-node", id);
      clickable(figure, shape, describeNode(data, id).title, function () { return describeNode(data, id); });
    });
    var count = figure.querySelector(".flow-count");
    count.textContent = routes.nodes.length + " nodes and " + routes.edges.length + " edges on the routes";
    count.setAttribute("data-nodes", routes.nodes.length);
    count.setAttribute("data-edges", routes.edges.length);
  }

  function start() {
    document.querySelectorAll(".lmreport-flow").forEach(function (figure) {
      var block = figure.querySelector('script[type="application/json"][id$="-flow"]');
      if (!block) { return; }
      var data = JSON.parse(block.textContent), incoming = incomingEdges(data);
      var slider = figure.querySelector(".flow-threshold"), shown = figure.querySelector(".flow-threshold-value");
      function update() {
        var threshold = Number(slider.value);
        shown.textContent = threshold.toFixed(3);
        draw(figure, data, incoming, threshold);
      }
      slider.addEventListener("input", update);
      update();
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();

"""PLAYGROUND: the model exported for the reader's browser (onnxruntime-web): export (the ONNX file, its tokenizer
and description), graph (the torch module exported), weights (how the file stores them), check (the export against
the model's own forward pass)."""

# The libraries an export depends on: their versions key the cached export and are recorded in export.json.
TOOLS = ("torch", "transformers", "onnx", "onnxscript", "onnxruntime")

"""Each scenario module has `run(ctx) -> list[Row]`; `bench/__main__.py` lists them."""

// VBenchLite module: see docs/ and ../shared/docs/design.md for what it holds.

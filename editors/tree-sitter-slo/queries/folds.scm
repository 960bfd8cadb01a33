; Folds for .slo (nvim-treesitter): every bracketed body that may span lines.
[
  (block)
  (map)
  (list)
  (matchers)
  (params)
  (import_list)
  (call)
] @fold

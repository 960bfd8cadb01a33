; Indents for .slo (nvim-treesitter): one level inside every bracketed body;
; a line that starts with the closing bracket goes back to the opener's level.
[
  (block)
  (map)
  (list)
  (matchers)
  (params)
  (import_list)
  (call)
] @indent.begin

[
  "}"
  "]"
  ")"
] @indent.branch @indent.end

(comment) @indent.auto

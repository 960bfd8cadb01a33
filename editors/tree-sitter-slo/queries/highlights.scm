; Highlights for .slo (nvim-treesitter capture names).
;
; No two patterns capture the same node, so the result does not depend on
; whether an editor lets the first (tree-sitter CLI, Helix) or the last
; (Neovim) of several matching patterns win; test.sh checks this over every
; .slo file of the repository. queries/helix/highlights.scm and
; zed/languages/slo/highlights.scm hold the same patterns with those
; editors' capture names (test.sh checks that they stay in sync).

; ------------------------------------------------------------ comments
(comment) @comment

; ------------------------------------------------------------ keywords
"import" @keyword.import

"std" @module.builtin

[
  "service"
  "slo"
  "template"
  "alerts"
  "policy"
  "sli"
  "tier"
  "threshold"
  "for"
  "as"
  "severity"
  "calendar"
] @keyword

[
  "good"
  "when"
] @keyword.conditional

[
  "over"
  "in"
  "and"
  "between"
  (of_budget)
] @keyword.operator

; ------------------------------------------------------------ declarations
(service_decl
  name: (ident) @type)

(slo_decl
  name: (ident) @type
  service: (ident) @type)

(policy_target
  (qualified
    (ident) @type))

(template_decl
  name: (ident) @function)

(alerts_decl
  name: (ident) @function)

(policy_decl
  name: (ident) @function)

(param
  name: (ident) @variable.parameter
  type: (ident) @type.builtin)

; ------------------------------------------------------------ imports
(std_path
  (ident) @module)

(import_name
  name: (ident) @function)

(import_name
  alias: (ident) @function)

(import_alias
  name: (ident) @module)

; ------------------------------------------------------------ blocks
(field
  name: (ident) @property)

(sli_block
  kind: (ident) @type.builtin)

(rule_block
  name: (ident) @label)

(when_rule
  severity: (ident) @constant.builtin)

(when_rule
  name: (ident) @label)

(action
  name: (ident) @function.builtin)

(action
  argument: (qualified
    (ident) @variable))

(calendar
  unit: (ident) @constant.builtin)

; ------------------------------------------------------------ calls and paths
; `mod.name(…)`: the module part, then the called name.
(call
  function: (qualified
    (ident) @module
    .
    (ident)))

; Calls of a single name: the condition and budgeting functions are builtins.
(call
  function: (qualified
    .
    (ident) @function.builtin .)
  (#any-of? @function.builtin
    "sli" "error_ratio" "burn_rate" "rate" "increase" "quantile" "ratio" "avg" "min" "max"
    "timeslices" "ratio_timeslices" "k_of_n"))

(call
  function: (qualified
    .
    (ident) @function.call .)
  (#not-any-of? @function.call
    "sli" "error_ratio" "burn_rate" "rate" "increase" "quantile" "ratio" "avg" "min" "max"
    "timeslices" "ratio_timeslices" "k_of_n"))

; `mod.name(…)`: the called name after a module.
(call
  function: (qualified
    (ident)
    .
    (ident) @function.call .))

(arg
  name: (ident) @variable.parameter)

(path
  (qualified
    (ident) @variable))

(map_entry
  key: (qualified
    (ident) @property))

; ------------------------------------------------------------ selectors
(metric_name) @constant

(selector
  (recorded_name) @constant)

(matcher
  label: (ident) @property)

(matcher
  value: (ident) @variable.parameter)

; ------------------------------------------------------------ literals
; Every place a string can stand, so that a regex matcher's string gets
; one capture only.
(value
  (string) @string)

(import_source
  (string) @string)

(calendar
  time_zone: (string) @string)

(action
  argument: (string) @string)

(map_entry
  key: (string) @string)

(comparison
  left: (string) @string)

(compare
  right: (string) @string)

(between
  low: (string) @string)

(between
  high: (string) @string)

(over_tail
  (string) @string)

(pair_tail
  (string) @string)

(matcher
  operator: (match_op
    [
      "="
      "!="
    ])
  value: (string) @string)

(matcher
  operator: (match_op
    [
      "=~"
      "!~"
    ])
  value: (string) @string.regexp)

(escape_sequence) @string.escape

[
  (number)
  (percent)
  (factor)
  (duration)
  (rate)
] @number

(boolean) @boolean

; ------------------------------------------------------------ operators and punctuation
[
  (cmp_op)
  (match_op)
  "="
  "=>"
  "/"
] @operator

[
  ","
  "."
  ":"
] @punctuation.delimiter

[
  "{"
  "}"
  "("
  ")"
  "["
  "]"
] @punctuation.bracket

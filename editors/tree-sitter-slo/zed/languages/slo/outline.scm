; The outline panel: declarations and the named blocks inside them.
(import_decl
  "import" @context
  source: (import_source) @name) @item

(service_decl
  "service" @context
  name: (ident) @name) @item

(slo_decl
  "slo" @context
  name: (ident) @name
  "for" @context
  service: (ident) @name) @item

(template_decl
  "template" @context
  name: (ident) @name) @item

(alerts_decl
  "alerts" @context
  name: (ident) @name) @item

(policy_decl
  "policy" @context
  name: (ident) @name) @item

(sli_block
  "sli" @context
  kind: (ident) @name) @item

(rule_block
  kind: (rule_kind) @context
  name: (ident) @name) @item

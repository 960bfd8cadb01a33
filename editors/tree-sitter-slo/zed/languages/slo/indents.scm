; One level inside every bracketed body; the closing bracket ends it.
(block "}" @end) @indent
(map "}" @end) @indent
(matchers "}" @end) @indent
(import_list "}" @end) @indent
(list "]" @end) @indent
(params ")" @end) @indent
(call ")" @end) @indent

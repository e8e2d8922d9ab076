"""`recode data build`: release notes → execution-verified migration pairs, from any OpenAI-compatible LLM.

One module per stage, files between stages (the log and the cache), so each can be rerun alone:
`harvest` (+ `parsers`) finds API-change entries, `generate` asks the model for a pair per entry
(prompt: `prompt_template.md`), `envs` makes one environment per (library, version), `verify` runs the
pair there through `recode.sandbox`, and `pipeline.run_build` ties them together and writes the output.
Nothing is imported here, so `import recode.data.build.harvest` stays free of the sandbox and `openai`.
"""

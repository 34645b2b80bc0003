/** A plugin as the operator configures it: a built-in name or an absolute path, and its options. */
export interface PluginSpec {
  use: string;
  options?: Record<string, unknown>;
}

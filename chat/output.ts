/** Where a chat session prints: a terminal, a pipe, or an array in tests. */
export interface ChatOutput {
  /** Prints `text` (one line, already escaped) as one line. */
  line(text: string): void;
  /**
   * Prints `text` as one line that a later state replaces: the returned function shows the new text in
   * that line's place where the sink can (a terminal, while it is still the last line), else as a new line.
   */
  progress(text: string): (next: string) => void;
}

import { QueryClient, QueryObserver } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { refresh } from "./queries";

describe("refresh", () => {
  it("refetches a query whose first fetch started before the write", async () => {
    const client = new QueryClient();
    let stored = 0;
    const answers: Array<() => void> = [];
    // Each fetch reads the store when it starts and answers when the test lets it.
    const queryFn = () => {
      const seen = stored;
      return new Promise<number>((resolve) => answers.push(() => resolve(seen)));
    };
    const observer = new QueryObserver(client, { queryKey: ["project", 1, "samples"], queryFn });
    const unsubscribe = observer.subscribe(() => {});
    expect(answers).toHaveLength(1);
    stored = 1; // the upload lands while the page's first fetch is in flight
    const done = refresh(client, ["project", 1]);
    answers[0]();
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(answers).toHaveLength(2);
    answers[1]();
    await done;
    expect(client.getQueryData(["project", 1, "samples"])).toBe(1);
    unsubscribe();
  });
});

import { act, renderHook } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { EngineError } from "../engine/api";
import { useEngineAction } from "./useEngineAction";

describe("useEngineAction", () => {
  it("is busy while the call runs and shows the engine's message when it fails", async () => {
    const { result } = renderHook(() => useEngineAction());
    act(() => result.current.setProblem("left over"));
    // The call is failed by hand, to look at the state while it runs.
    let fail: (error: unknown) => void = () => undefined;
    const call = new Promise<void>((_, reject) => {
      fail = reject;
    });
    let outcome: Promise<boolean> = Promise.resolve(true);
    act(() => {
      outcome = result.current.run(() => call);
    });
    expect(result.current.busy).toBe(true);
    expect(result.current.problem).toBeNull();

    await act(async () => {
      fail({ code: "group.not_admin", message: "only admins", retryable: false });
      await outcome;
    });
    expect(await outcome).toBe(false);
    expect(result.current.busy).toBe(false);
    expect(result.current.problem).toBe("only admins");
  });

  it("words a failure by its code when told how", async () => {
    const { result } = renderHook(() =>
      useEngineAction({
        describe: (error) => (error.code === "identity.not_on_arx" ? "Not on ARX." : error.message),
      }),
    );
    await act(async () => {
      await result.current.run(() =>
        Promise.reject(new EngineError("identity.not_on_arx", "no inbox")),
      );
    });
    expect(result.current.problem).toBe("Not on ARX.");
  });

  it("stays busy after a success only when its owner moves on", async () => {
    const moving = renderHook(() => useEngineAction({ staysBusy: true }));
    const staying = renderHook(() => useEngineAction());
    let outcomes: boolean[] = [];
    await act(async () => {
      outcomes = await Promise.all([
        moving.result.current.run(async () => undefined),
        staying.result.current.run(async () => undefined),
      ]);
    });
    expect(outcomes).toEqual([true, true]);
    expect(moving.result.current.busy).toBe(true);
    expect(staying.result.current.busy).toBe(false);
    expect(staying.result.current.problem).toBeNull();
  });
});

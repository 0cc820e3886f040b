"""The subprocess side of ``jaxml.testing.devices.run_on_cpu_devices``: load the function's module from
its file, call it, pickle ``(ok, value or exception, traceback text)``. Not for direct use."""
import importlib.util
import pickle
import sys
import traceback


def main(job_path: str, result_path: str) -> None:
    with open(job_path, "rb") as f:
        job = pickle.load(f)
    try:
        module = sys.modules.get(job["module"])
        if module is None or getattr(module, "__file__", None) != job["file"]:
            spec = importlib.util.spec_from_file_location(job["module"], job["file"])
            module = importlib.util.module_from_spec(spec)
            sys.modules[job["module"]] = module
            spec.loader.exec_module(module)
        fn = module
        for part in job["qualname"].split("."):
            fn = getattr(fn, part)
        out = (True, fn(*job["args"]), "")
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        try:
            pickle.dumps(e)
        except Exception:  # noqa: BLE001
            e = RuntimeError(repr(e))
        out = (False, e, traceback.format_exc())
    with open(result_path, "wb") as f:
        pickle.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

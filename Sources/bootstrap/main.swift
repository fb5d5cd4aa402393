// The Lambda custom runtime executable: picks its handler from `_HANDLER` and serves invocations.
import Handlers
import LambdaRuntime
#if canImport(Glibc)
import Glibc
#endif

exit(LambdaRuntime.run(makeHandler: HandlerRegistry.make))

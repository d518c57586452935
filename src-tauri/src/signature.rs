//! The commands' signatures as the UI calls them, so the TypeScript side is generated from the
//! Rust one: `command!` defines a Tauri command and, beside it, its signature (name, arguments
//! in camelCase as Tauri passes them, their TypeScript types, the result's), from which
//! `bindings.ts` gets its `Commands` map.

/// One command as the UI calls it.
pub struct Signature {
    pub name: &'static str,
    pub args: Vec<(String, String)>,
    pub result: String,
}

/// `snake_case` → `camelCase`, as Tauri names command arguments.
pub fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Defines a command (`pub async fn name(app: AppState<'_>, arg: Type, …) -> CommandResult<T>`)
/// and a module of the same name whose `signature()` describes it.
macro_rules! command {
    (
        $(#[$attr:meta])*
        pub async fn $name:ident(
            $app:ident: AppState<'_> $(, $arg:ident: $ty:ty)* $(,)?
        ) -> CommandResult<$ret:ty> $body:block
    ) => {
        $(#[$attr])*
        #[tauri::command]
        pub async fn $name($app: AppState<'_> $(, $arg: $ty)*) -> CommandResult<$ret> $body

        #[doc(hidden)]
        pub mod $name {
            #[allow(unused_imports)]
            use super::*;

            /// This command's signature, for the generated TypeScript.
            pub fn signature() -> $crate::signature::Signature {
                $crate::signature::Signature {
                    name: stringify!($name),
                    args: vec![$(
                        (
                            $crate::signature::camel(stringify!($arg)),
                            <$ty as ts_rs::TS>::name(),
                        )
                    ),*],
                    result: <$ret as ts_rs::TS>::name(),
                }
            }
        }
    };
}
pub(crate) use command;

#[cfg(test)]
mod tests {
    #[test]
    fn arguments_are_named_as_tauri_passes_them() {
        assert_eq!(super::camel("conversation_id"), "conversationId");
        assert_eq!(super::camel("before_id"), "beforeId");
        assert_eq!(super::camel("text"), "text");
    }
}

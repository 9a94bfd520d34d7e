/** Entry point: mounts the TinyStudio app with the query cache and the router. */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { App } from "./App";
import { ConfirmProvider } from "./components/ConfirmDialog";
import { ApiError } from "./api/client";
import "./styles.css";
import { refresh } from "./api/queries";

const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({
    onError: (err, query) => {
      // A session that ended (logged out elsewhere, expired) sends the user back to the log-in page.
      if (err instanceof ApiError && err.status === 401 && query.queryKey[0] !== "me") {
        void refresh(queryClient, ["me"]);
      }
    },
  }),
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      // Authentication and "not found" answers will not change by asking again.
      retry: (count, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <ConfirmProvider>
          <App />
        </ConfirmProvider>
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);

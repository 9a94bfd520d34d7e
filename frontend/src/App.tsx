/** Routes of the studio: sign-in pages, the projects list and each project's pages. */
import { Navigate, Route, Routes, useLocation } from "react-router-dom";
import { useMe } from "./api/queries";
import { Loading } from "./components/ui";
import { AuthPage } from "./pages/AuthPage";
import { ProjectsPage } from "./pages/ProjectsPage";
import { ProjectLayout } from "./pages/ProjectLayout";
import { DashboardPage } from "./pages/DashboardPage";
import { DataPage } from "./pages/DataPage";
import { SamplePage } from "./pages/SamplePage";
import { DevicesPage } from "./pages/DevicesPage";
import { SettingsPage } from "./pages/SettingsPage";
import { ImpulsePage } from "./pages/ImpulsePage";
import { TrainingPage } from "./pages/TrainingPage";
import { TunerPage } from "./pages/TunerPage";
import { DeploymentPage } from "./pages/DeploymentPage";
import { ModelsPage } from "./pages/ModelsPage";
import { VirtualBoardsPage } from "./pages/VirtualBoardsPage";
import { FlashPage } from "./pages/FlashPage";
import { FleetPage } from "./pages/FleetPage";
import { AccountPage } from "./pages/AccountPage";
import { TopBar } from "./components/TopBar";

function RequireUser({ children }: { children: React.ReactNode }) {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) return <Loading what="your account" />;
  if (me.isError) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname)}`} replace />;
  return <>{children}</>;
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<AuthPage mode="login" />} />
      <Route path="/signup" element={<AuthPage mode="signup" />} />
      <Route
        path="/*"
        element={
          <RequireUser>
            <TopBar />
            <Routes>
              <Route index element={<ProjectsPage />} />
              <Route path="account" element={<AccountPage />} />
              <Route path="projects/:projectId" element={<ProjectLayout />}>
                <Route index element={<DashboardPage />} />
                <Route path="data" element={<DataPage />} />
                <Route path="data/:sampleId" element={<SamplePage />} />
                <Route path="devices" element={<DevicesPage />} />
                <Route path="impulse" element={<ImpulsePage />} />
                <Route path="training" element={<TrainingPage />} />
                <Route path="tuner" element={<TunerPage />} />
                <Route path="deployment" element={<DeploymentPage />} />
                <Route path="models" element={<ModelsPage />} />
                <Route path="virtual-boards" element={<VirtualBoardsPage />} />
                <Route path="flash" element={<FlashPage />} />
                <Route path="fleet" element={<FleetPage />} />
                <Route path="settings" element={<SettingsPage />} />
              </Route>
              <Route
                path="*"
                element={
                  <main className="page">
                    <h1>Page not found</h1>
                    <a href="/">Back to your projects</a>
                  </main>
                }
              />
            </Routes>
          </RequireUser>
        }
      />
    </Routes>
  );
}

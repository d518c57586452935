/** The title bar of a side panel, with its close button (named after the panel). */
export function PanelHeader({ title, onClose }: { title: string; onClose: () => void }) {
  return (
    <header className="panel-header">
      <h2>{title}</h2>
      <button
        type="button"
        className="icon-button"
        aria-label={`Close ${title.toLowerCase()}`}
        onClick={onClose}
      >
        <span aria-hidden="true">✕</span>
      </button>
    </header>
  );
}
